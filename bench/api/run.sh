#!/usr/bin/env bash
# API benchmark (issues 8 and 16): wrk with 32 connections against
#   GET /api/v1/batches/{id}/progress  (target >= 2,000 req/s, p99 < 25 ms)
#   GET /public/results                (target >= 1,000 req/s)
#   GET /results                       the portal's results page, first page, no filter
#   GET /results?q=<credit code>       the portal's search by credit code
#                                      (both: target >= 500 req/s, p99 < 100 ms)
# on one machine: an ephemeral PostgreSQL cluster (fsync off, as the test
# clusters), the Temporal dev server (bin/temporal), `spotcheck api`, and
# wrk all run here. A batch of TASKS tasks (default 10,000) with published
# results is seeded in SQL; a coordinator key comes from `spotcheck token
# create`. Prints both figures and stops everything.
#
#   bench/api/run.sh                 # 30 s per endpoint
#   DURATION=10s TASKS=10000 bench/api/run.sh
set -euo pipefail

TASKS=${TASKS:-10000}
DURATION=${DURATION:-30s}
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
say() { printf '%s\n' "$*" >&2; }
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

say "seeding a batch of $TASKS tasks with published results"
# The objects' keys are valid credit codes (bench/api/keys).
go run ./bench/api/keys -n "$TASKS" >"$work/keys.tsv"
psql -q "$url" -v ON_ERROR_STOP=1 -c 'CREATE TABLE bench_keys (n int PRIMARY KEY, key text NOT NULL)' \
	-c "\\copy bench_keys FROM '$work/keys.tsv'" >/dev/null
psql -q "$url" -v ON_ERROR_STOP=1 -v tasks="$TASKS" <<'SQL' >/dev/null
INSERT INTO departments (code, name) VALUES ('BENCH', '测试处');
INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, department_code, effective_from, published, authority)
VALUES ('BENCH-01', 1, '基准测试事项', 'enterprise', '{on_site}', 'general', '0.05', 'BENCH', '2025-01-01', true, '嘉兴市自然资源和规划局');
CREATE TEMP TABLE c AS SELECT * FROM unnest(ARRAY['330402','330411','330421','330424','330481','330482','330483']) WITH ORDINALITY AS c(code, n);
INSERT INTO objects (key, kind, name, region_code)
SELECT k.key, 'enterprise', '基准企业' || i, (SELECT code FROM c WHERE n = 1 + i % 7)
FROM generate_series(1, :tasks) i JOIN bench_keys k ON k.n = i;
INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
VALUES ('bench-1', 'committed', '{}', 'x', repeat('a', 64), now(), 'bench');
INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ('bench-1', 0, 'BENCH-01', 1);
INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
SELECT 'bench-1', i, k.key, 's', '{BENCH-01}', c.code, c.code FROM generate_series(1, :tasks) i JOIN c ON c.n = 1 + i % 7 JOIN bench_keys k ON k.n = i;
INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, overdue)
SELECT 'bench-1', k.key, c.code,
       (ARRAY['assigned','inspected','result_entered','approved','published','closed'])[1 + i % 6], '{}',
       CASE WHEN i % 17 = 0 THEN '{inspection}'::text[] ELSE '{}' END
FROM generate_series(1, :tasks) i JOIN c ON c.n = 1 + i % 7 JOIN bench_keys k ON k.n = i;
INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at)
SELECT 'bench-1', object_key, 1, 'no_problem', 'on_site', false, 'bench', now() FROM tasks WHERE batch_id = 'bench-1';
INSERT INTO publications (batch_id, object_key, published_at) SELECT 'bench-1', object_key, now() FROM tasks WHERE batch_id = 'bench-1';
ANALYZE;
SQL

token=$("$work/spotcheck" token create --role coordinator --name bench --database-url "$url" --log-level warn | grep -o 'sc_[A-Za-z0-9_-]*' | head -1)
[[ -n "$token" ]] || { say "no token created"; exit 1; }

hport=$(free_port)
DATABASE_URL=$url TEMPORAL_ADDRESS=127.0.0.1:$tport HTTP_ADDR=127.0.0.1:$hport PUBLIC_RATE_LIMIT=0 API_RATE_LIMIT=0 LOG_LEVEL=warn \
	"$work/spotcheck" api >"$work/api.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null || { say "the API did not become ready:"; tail -20 "$work/api.log" >&2; exit 1; }
curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$hport/api/v1/batches/bench-1/progress" >/dev/null || { say "progress fails"; exit 1; }
curl -fs "http://127.0.0.1:$hport/public/results" >/dev/null || { say "public results fail"; exit 1; }
code=$(awk -F'\t' 'NR == 4321 || NR == 1 {k = $2} END {print k}' "$work/keys.tsv")
curl -fs "http://127.0.0.1:$hport/results?q=$code" -o "$work/search.html" && grep -q "$code" "$work/search.html" ||
	{ say "the portal's search finds no $code"; exit 1; }

cat >"$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
run() { # name path [lua]
	local out
	out=$(wrk -t2 -c32 -d"$DURATION" --latency ${3:+-s "$3"} "http://127.0.0.1:$hport$2")
	local rps p99 non2xx
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
	printf '%-42s %10s req/s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p99" "${non2xx:-0}"
}
say "wrk: 2 threads, 32 connections, $DURATION each (server and wrk on this machine, $(nproc) cores); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run "GET /api/v1/batches/{id}/progress" /api/v1/batches/bench-1/progress "$work/auth.lua"
run "GET /public/results" /public/results
run "GET /results (portal, first page)" /results
run "GET /results?q=<credit code> (portal)" "/results?q=$code"
say "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
