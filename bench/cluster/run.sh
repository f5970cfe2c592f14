#!/bin/sh
# Draw → every county notified → every object's tracking started, for
# batches of about 2,000 and 10,000 objects, on the Temporal cluster of
# deploy/temporal (PostgreSQL) and on the embedded dev server, in one run
# (see BenchmarkDrawToTracking in cmd/spotcheck). Prints the machine's load
# before and after, and the figures. Takes 10–20 minutes on 2 cores.
#
#   bench/cluster/run.sh                      # 2,000 and 10,000
#   SPOTCHECK_BENCH_SIZES=500 bench/cluster/run.sh
#   BENCH='DrawToTracking/devserver' bench/cluster/run.sh   # one backend
set -eu
cd "$(dirname "$0")/../.."
make -s bin/temporal bin/temporal-server
mkdir -p bench/out
out=bench/out/cluster-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load before: $(cat /proc/loadavg)"
} | tee "$out"
TEMPORAL_CLI=$PWD/bin/temporal go test -count=1 -run '^$' -bench "${BENCH:-DrawToTracking}" -benchtime 1x -timeout 60m -v ./cmd/spotcheck 2>&1 |
  grep --line-buffered -E 'Benchmark|objects drawn|ok|FAIL|panic|Error' | tee -a "$out"
echo "load after: $(cat /proc/loadavg)" | tee -a "$out"
echo "written to $out"
