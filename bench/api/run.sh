#!/usr/bin/env bash
# API benchmark (issues 8, 15 and 16): wrk with 32 connections against
#   GET /api/v1/batches/{id}/progress  uncached, 50 distinct batch × county
#                                      keys (goal >= 2,000 req/s, p99 < 25 ms)
#   the same through the 1 s progress cache (an API started with
#                                      PROGRESS_CACHE_MS=1000; no goal, labelled cached)
#   GET /public/results                first page, no response cache
#                                      (goal >= 1,000 req/s, p99 < 50 ms)
#   GET /results                       the portal's results page, first page, no filter
#   GET /results?q=<credit code>       the portal's search by credit code
#                                      (both: goal >= 500 req/s, p99 < 100 ms)
# on one machine: an ephemeral PostgreSQL cluster (fsync off, as the test
# clusters), the Temporal dev server (bin/temporal), two `spotcheck api`
# (progress cache off and on), and wrk all run here. BATCHES batches
# (default 8) of TASKS tasks (default 10,000) are seeded in SQL, the first
# with published results; coordinator and county officer keys come from
# `spotcheck token create`. The endpoints run in ROUNDS rounds (default 3),
# interleaved (ABCD ABCD …), each round printing the load average; the end
# prints per endpoint the median and the spread (min–max) beside its goal.
#
#   bench/api/run.sh                 # 10 s per endpoint and round
#   DURATION=10s ROUNDS=3 TASKS=10000 bench/api/run.sh
set -euo pipefail

TASKS=${TASKS:-10000}
BATCHES=${BATCHES:-8}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
say() { printf '%s\n' "$*" >&2; }
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u '+%F %H:%M UTC')"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/spotcheck-bench-api.XXXXXX)
chmod 755 "$work"
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	say "no free port found"; exit 1
}
command -v wrk >/dev/null || { say "wrk is missing: apt-get install -y wrk"; exit 1; }

cd "$root"
say "building spotcheck"
go build -o "$work/spotcheck" ./cmd/spotcheck

bindir=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
as_pg=()
if [[ $(id -u) == 0 ]]; then
	as_pg=(runuser -u postgres --) # PostgreSQL refuses to run as root.
	chown postgres: "$work"
fi
"${as_pg[@]}" "$bindir/initdb" -D "$work/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
pgport=$(free_port)
"${as_pg[@]}" "$bindir/postgres" -D "$work/pg" -p "$pgport" -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
	-c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$work/pg.log" 2>&1 &
pids+=($!)
admin_url="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"
for _ in $(seq 100); do psql -q "$admin_url" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
psql -q "$admin_url" -v ON_ERROR_STOP=1 -c 'CREATE DATABASE spotcheck' >/dev/null
url="postgres://postgres@127.0.0.1:$pgport/spotcheck?sslmode=disable"
"$work/spotcheck" migrate up --database-url "$url" --log-level warn >/dev/null

tport=$(free_port)
"$root/bin/temporal" server start-dev --ip 127.0.0.1 --port "$tport" --headless --log-level error \
	--dynamic-config-value frontend.enableServerVersionCheck=false >"$work/temporal.log" 2>&1 &
pids+=($!)

say "seeding $BATCHES batches of $TASKS tasks, the first with published results"
# The objects' keys are valid credit codes (bench/api/keys).
go run ./bench/api/keys -n "$TASKS" >"$work/keys.tsv"
psql -q "$url" -v ON_ERROR_STOP=1 -c 'CREATE TABLE bench_keys (n int PRIMARY KEY, key text NOT NULL)' \
	-c "\\copy bench_keys FROM '$work/keys.tsv'" >/dev/null
psql -q "$url" -v ON_ERROR_STOP=1 -v tasks="$TASKS" -v batches="$BATCHES" <<'SQL' >/dev/null
INSERT INTO departments (code, name) VALUES ('BENCH', '测试处');
INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, department_code, effective_from, published, authority)
VALUES ('BENCH-01', 1, '基准测试事项', 'enterprise', '{on_site}', 'general', '0.05', 'BENCH', '2025-01-01', true, '嘉兴市自然资源和规划局');
CREATE TEMP TABLE c AS SELECT * FROM unnest(ARRAY['330402','330411','330421','330424','330481','330482','330483']) WITH ORDINALITY AS c(code, n);
INSERT INTO objects (key, kind, name, region_code)
SELECT k.key, 'enterprise', '基准企业' || i, (SELECT code FROM c WHERE n = 1 + i % 7)
FROM generate_series(1, :tasks) i JOIN bench_keys k ON k.n = i;
INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
SELECT 'bench-' || b, 'committed', '{}', 'x', repeat('a', 64), now(), 'bench' FROM generate_series(1, :batches) b;
INSERT INTO batch_items (batch_id, position, item_code, item_version) SELECT 'bench-' || b, 0, 'BENCH-01', 1 FROM generate_series(1, :batches) b;
INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
SELECT 'bench-' || b, i, k.key, 's', '{BENCH-01}', c.code, c.code
FROM generate_series(1, :batches) b, generate_series(1, :tasks) i JOIN c ON c.n = 1 + i % 7 JOIN bench_keys k ON k.n = i;
INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, overdue)
SELECT 'bench-' || b, k.key, c.code,
       (ARRAY['assigned','inspected','result_entered','approved','published','closed'])[1 + (i + b) % 6], '{}',
       CASE WHEN i % 17 = 0 THEN '{inspection}'::text[] ELSE '{}' END
FROM generate_series(1, :batches) b, generate_series(1, :tasks) i JOIN c ON c.n = 1 + i % 7 JOIN bench_keys k ON k.n = i
WHERE i % 10 <> 0; -- a tenth of each batch awaits its match
INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at)
SELECT 'bench-1', object_key, 1, 'no_problem', 'on_site', false, 'bench', now() FROM tasks WHERE batch_id = 'bench-1';
INSERT INTO publications (batch_id, object_key, published_at) SELECT 'bench-1', object_key, now() FROM tasks WHERE batch_id = 'bench-1';
ANALYZE;
SQL

mktoken() { "$work/spotcheck" token create "$@" --name bench --database-url "$url" --log-level warn | grep -o 'sc_[A-Za-z0-9_-]*' | head -1; }
token=$(mktoken --role coordinator)
[[ -n "$token" ]] || { say "no token created"; exit 1; }
counties=(330402 330411 330421 330424 330481 330482 330483)
declare -A officer
for c in "${counties[@]}"; do officer[$c]=$(mktoken --role county_officer --county "$c"); done
# Sanity check of the counters against a recount, for the bench's own data.
mismatch=$(psql -qtA "$url" -c "
	SELECT count(*) FROM (
		SELECT batch_id, county_code, what, n FROM progress_counters WHERE n <> 0
		EXCEPT
		SELECT b.batch_id, coalesce(b.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
		FROM batch_objects b LEFT JOIN tasks t USING (batch_id, object_key) GROUP BY 1, 2, 3
		EXCEPT
		SELECT batch_id, county_code, 'overdue:' || duty, count(*) FROM tasks, unnest(overdue) duty GROUP BY 1, 2, 3
		EXCEPT
		SELECT batch_id, county_code, 'tasks:overdue', count(*) FROM tasks WHERE cardinality(overdue) > 0 GROUP BY 1, 2, 3) x")
[[ $mismatch == 0 ]] || { say "the progress counters differ from a recount in $mismatch rows"; exit 1; }

start_api() { # port cache-ms
	DATABASE_URL=$url TEMPORAL_ADDRESS=127.0.0.1:$tport HTTP_ADDR=127.0.0.1:$1 PUBLIC_RATE_LIMIT=0 API_RATE_LIMIT=0 PROGRESS_CACHE_MS=$2 LOG_LEVEL=warn \
		"$work/spotcheck" api >"$work/api-$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 300); do curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
	curl -fs "http://127.0.0.1:$1/readyz" >/dev/null || { say "the API did not become ready:"; tail -20 "$work/api-$1.log" >&2; exit 1; }
}
hport=$(free_port)
start_api "$hport" 0
cport=$(free_port)
start_api "$cport" 1000
curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$hport/api/v1/batches/bench-1/progress" >/dev/null || { say "progress fails"; exit 1; }
curl -fs -H "Authorization: Bearer ${officer[330402]}" "http://127.0.0.1:$hport/api/v1/batches/bench-2/progress" | grep -q '"county":"330402"' || { say "a county's progress fails"; exit 1; }
curl -fs "http://127.0.0.1:$hport/public/results" >/dev/null || { say "public results fail"; exit 1; }
code=$(awk -F'\t' 'NR == 4321 || NR == 1 {k = $2} END {print k}' "$work/keys.tsv")
curl -fs "http://127.0.0.1:$hport/results?q=$code" -o "$work/search.html" && grep -q "$code" "$work/search.html" ||
	{ say "the portal's search finds no $code"; exit 1; }

# 50 distinct batch × county keys, each request the next: the county
# officers' keys scope the progress to their county.
{
	echo 'local keys = {'
	n=0
	for b in $(seq 1 "$BATCHES"); do
		for c in "${counties[@]}"; do
			((n < 50)) || break
			echo "  {\"/api/v1/batches/bench-$b/progress\", \"Bearer ${officer[$c]}\"},"
			n=$((n + 1))
		done
	done
	echo '}'
	cat <<'LUA'
local i = 0
request = function()
  i = i % #keys + 1
  return wrk.format("GET", keys[i][1], {["Authorization"] = keys[i][2]})
end
LUA
} >"$work/keys.lua"
nkeys=$(grep -c 'Bearer' "$work/keys.lua")
((nkeys >= 50)) || { say "only $nkeys distinct keys: BATCHES must be at least 8"; exit 1; }

declare -A rps_of p99_of
run() { # name port path [lua]
	local out rps p99 non2xx
	out=$(wrk -t2 -c32 -d"$DURATION" --latency ${4:+-s "$4"} "http://127.0.0.1:$2$3")
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.1f", v}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	rps_of[$1]+="$rps "
	p99_of[$1]+="$p99 "
	printf '  %-46s %10s req/s   p99 %7s ms   non-2xx %s   load %s\n' "$1" "$rps" "$p99" "${non2xx:-0}" "$(cut -d' ' -f1 /proc/loadavg)"
}
names=("progress uncached, 50 keys" "progress cached (1 s), 50 keys" "GET /public/results (first page)" "GET /results (portal, first page)" "GET /results?q=<credit code> (portal)")
goals=(">= 2,000 req/s, p99 < 25 ms" "(no goal: cached)" ">= 1,000 req/s, p99 < 50 ms" ">= 500 req/s, p99 < 100 ms" ">= 500 req/s, p99 < 100 ms")
min_rps=(2000 0 1000 500 500)
max_p99=(25 0 50 100 100)
say "wrk: 2 threads, 32 connections, $DURATION per endpoint and round, $ROUNDS rounds interleaved (server, PostgreSQL, Temporal and wrk on this machine)"
for r in $(seq 1 "$ROUNDS"); do
	say "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	run "${names[0]}" "$hport" / "$work/keys.lua"
	run "${names[1]}" "$cport" / "$work/keys.lua"
	run "${names[2]}" "$hport" /public/results
	run "${names[3]}" "$hport" /results
	run "${names[4]}" "$hport" "/results?q=$code"
done
stat() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {printf "%s (%s–%s)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
say "medians over $ROUNDS rounds (min–max), goal, met; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
for k in "${!names[@]}"; do
	n=${names[$k]}
	mr=$(stat <<<"${rps_of[$n]}")
	mp=$(stat <<<"${p99_of[$n]}")
	met="-"
	if ((${min_rps[$k]} > 0)); then
		met=$(awk -v r="${mr%% *}" -v p="${mp%% *}" -v gr="${min_rps[$k]}" -v gp="${max_p99[$k]}" 'BEGIN {print (r >= gr && p < gp) ? "met" : "NOT met"}')
	fi
	printf '%-40s %24s req/s   p99 %22s ms   goal %-28s %s\n' "$n" "$mr" "$mp" "${goals[$k]}" "$met"
done
