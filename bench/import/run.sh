#!/usr/bin/env bash
# Import benchmark: `spotcheck import objects` against a plain `psql \copy`
# of the same rows into the same table, in one run on one database.
#
#   bench/import/run.sh            # 1,000,000 rows
#   ROWS=100000 bench/import/run.sh
#
# With DATABASE_URL set, a scratch database is created on that server (and
# dropped afterwards); otherwise an ephemeral PostgreSQL cluster is started
# from the machine's binaries, with the settings of the test clusters
# (internal/pgcluster: fsync off). Both loads start from an empty objects
# table with every index and the change-history trigger in place.
#
# AUDIT_CHAIN=off disables, for both loads alike, the user triggers on
# library_changes, to see what the audit hash chain costs. Since migration
# 00053 it chains one audit row per statement (a digest of its changes);
# before, one row per change made a load of n rows quadratic in n.
set -euo pipefail

ROWS=${ROWS:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/spotcheck-bench-import.XXXXXX)
chmod 755 "$work"
pgpid=""
admin_url=""
scratch=""

cleanup() {
	if [[ -n "$scratch" ]]; then
		psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if [[ -n "$pgpid" ]]; then
		kill -INT "$pgpid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.2; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }

cd "$root"
say "building spotcheck and the row generator"
go build -o "$work/spotcheck" ./cmd/spotcheck
go build -o "$work/gen" ./bench/import/gen

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	say "no free port found"
	exit 1
}

if [[ -n "${DATABASE_URL:-}" ]]; then
	admin_url=$DATABASE_URL
	scratch="spotcheck_bench_import_$$"
	psql -q "$admin_url" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch" >/dev/null
	url=$(printf '%s' "$admin_url" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$scratch#")
	say "using a scratch database on DATABASE_URL's server"
else
	bindir=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
	as_pg=()
	if [[ $(id -u) == 0 ]]; then
		# PostgreSQL refuses to run as root.
		as_pg=(runuser -u postgres --)
		chown postgres: "$work"
	fi
	"${as_pg[@]}" "$bindir/initdb" -D "$work/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
	port=$(free_port)
	"${as_pg[@]}" "$bindir/postgres" -D "$work/pg" -p "$port" -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
		>"$work/pg.log" 2>&1 &
	pgpid=$!
	admin_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	for _ in $(seq 100); do
		psql -q "$admin_url" -c 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.2
	done
	psql -q "$admin_url" -v ON_ERROR_STOP=1 -c 'CREATE DATABASE spotcheck' >/dev/null
	url="postgres://postgres@127.0.0.1:$port/spotcheck?sslmode=disable"
	say "started PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port"
fi

"$work/spotcheck" migrate up --database-url "$url" --log-level warn >/dev/null
if [[ "${AUDIT_CHAIN:-on}" == off ]]; then
	psql -q -X "$url" -v ON_ERROR_STOP=1 -c 'ALTER TABLE library_changes DISABLE TRIGGER USER' >/dev/null
	say "audit chain of library changes disabled for both loads (AUDIT_CHAIN=off)"
fi

say "generating $ROWS rows"
"$work/gen" -n "$ROWS" -import "$work/import.csv" -copy "$work/copy.csv"

sql() { psql -q -X "$url" -v ON_ERROR_STOP=1 "$@"; }
reset() {
	sql -c 'TRUNCATE objects, library_changes CASCADE' >/dev/null
	sql -c 'CHECKPOINT' >/dev/null 2>&1 || true
}
count() { sql -At -c 'SELECT count(*) FROM objects'; }
now() { date +%s.%N; }

cols="key, kind, name, region_code, station, address, tags, risk_level, credit_class, status, last_inspected_at"
load=$(cut -d' ' -f1-3 /proc/loadavg)

say "loading with psql \\copy"
reset
t0=$(now)
sql -c "\\copy objects ($cols) FROM '$work/copy.csv' WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL (station, address))"
t1=$(now)
n_copy=$(count)

say "loading with spotcheck import"
reset
t2=$(now)
/usr/bin/time -v -o "$work/time.txt" "$work/spotcheck" import objects "$work/import.csv" --database-url "$url" --actor bench >"$work/import.out"
t3=$(now)
n_import=$(count)
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")

if [[ "$n_copy" != "$ROWS" || "$n_import" != "$ROWS" ]]; then
	say "row counts differ: expected $ROWS, psql loaded $n_copy, spotcheck imported $n_import"
	exit 1
fi

awk -v rows="$ROWS" -v c0="$t0" -v c1="$t1" -v i0="$t2" -v i1="$t3" -v rss="$rss_kb" \
	-v size="$(stat -c %s "$work/import.csv")" -v cores="$(nproc)" -v load="$load" -v chain="${AUDIT_CHAIN:-on}" 'BEGIN {
	copy = c1 - c0; imp = i1 - i0
	printf "rows: %d (import CSV %.0f MB); audit chain %s; machine: %d cores, load average before: %s\n", rows, size / 1e6, chain, cores, load
	printf "psql \\copy:       %8.0f rows/s  (%.1f s)\n", rows / copy, copy
	printf "spotcheck import: %8.0f rows/s  (%.1f s), peak RSS %.0f MB\n", rows / imp, imp, rss / 1024
	printf "ratio import/copy: %.2f (target >= 0.50); peak RSS target < 300 MB\n", copy / imp
}'
