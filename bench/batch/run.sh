#!/bin/sh
# A batch of about 10,000 objects through the API on the embedded dev
# server (TestBigBatchLeavesOthersAlone in cmd/spotcheck): the lock's task
# rows, lock → every county matched → every object tracked, and, from the
# lock on, the progress p99, a result entry on another batch and a new
# batch of ~200 objects drawn and locked, each figure beside its goal.
# Prints the machine's load before and after. About a minute on 2 cores.
#
#   bench/batch/run.sh                          # 10,000 objects
#   SPOTCHECK_BIG_BATCH=2000 bench/batch/run.sh
set -eu
cd "$(dirname "$0")/../.."
make -s bin/temporal
mkdir -p bench/out
out=bench/out/batch-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load before: $(cat /proc/loadavg)"
} | tee "$out"
TEMPORAL_CLI=$PWD/bin/temporal go test -count=1 -run '^TestBigBatchLeavesOthersAlone$' -timeout 20m -v ./cmd/spotcheck 2>&1 |
  grep --line-buffered -E 'bigbatch_test|^--- |^ok|FAIL|panic' | tee -a "$out"
echo "load after: $(cat /proc/loadavg)" | tee -a "$out"
echo "written to $out"
