#!/usr/bin/env bash
# A batch from draw to archive on the running `make run` system, as an API
# caller, a county and the city see it: create → beacon → draw → lock →
# county match → inspection → the results' reminder delivered to a webhook
# (each result is due the next working day) → results → review →
# publication → summary → archive. Watch it in the Temporal Web UI
# (http://localhost:8233) while it runs. A deadline passing, its escalation
# and its ledger entry take a working day of real time: the workflow tests
# (workflows/deadline_test.go) show each duty's on a skipped clock.
#
#   make run            # in another terminal
#   docs/demo-batch.sh
#
# Needs curl, jq and python3 (the webhook receiver).
set -euo pipefail
cd "$(dirname "$0")/.."
API=${API:-http://localhost:8080}
DATA_DIR=${DATA_DIR:-.data}
# The system of `make run` unless told another (cmd/spotcheck's test of
# this script sets DATABASE_URL and SPOTCHECK).
if [ -z "${DATABASE_URL:-}" ]; then
	port=$(sed -n 4p "$DATA_DIR/postgres/postmaster.pid")
	export DATABASE_URL="postgres://postgres@127.0.0.1:$port/spotcheck?sslmode=disable"
fi
SPOTCHECK=${SPOTCHECK:-bin/spotcheck}
coordinator=$($SPOTCHECK token create --role coordinator --name "demo coordinator")
officer=$($SPOTCHECK token create --role county_officer --county 330402 --name "demo 南湖区")

# A webhook receiver that prints what it gets.
hook_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$hook_port" <<'PY' &
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print(f"  webhook {self.path}: [{body['kind']}] {body['body']}", flush=True)
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
hook_pid=$!
contacts=()
cleanup() {
	kill $hook_pid
	# The receiver goes away with the script; so do its contacts.
	for c in "${contacts[@]}"; do call DELETE "/api/v1/contacts/$c" "$coordinator" >/dev/null || true; done
}
trap cleanup EXIT

call() { # method path token [body]
	curl -sS -X "$1" "$API$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}
}
wait_for() { # description command...
	for _ in $(seq 300); do
		if eval "$2" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	echo "timed out waiting for $1" >&2
	exit 1
}
for c in 330402/county_officer 330402/county_head 330400/city_coordinator; do
	contacts+=("$(call POST /api/v1/contacts "$coordinator" "{\"region_code\":\"${c%/*}\",\"role\":\"${c#*/}\",\"name\":\"demo ${c#*/}\",\"channel\":\"webhook\",\"address\":\"http://127.0.0.1:$hook_port/$c\",\"secret\":\"demo-webhook-secret-0123\"}" | jq -r .id)")
done

id="DEMO-$(date +%s)"
today=$(TZ=Asia/Shanghai date +%F)
end=$(TZ=Asia/Shanghai date -d '+60 days' +%F)
echo "== batch $id: draw one enterprise of ZR-03 (测绘资质单位) per risk level in 南湖区"
call POST /api/v1/batches "$coordinator" "{\"id\":\"$id\",\"name\":\"演示批次\",
  \"rules\":{\"items\":[{\"code\":\"ZR-03\",\"version\":1}],\"filter\":{\"regions\":[\"330402\"]},\"strata_keys\":[\"risk\"],\"quotas\":[{\"count\":1}]},
  \"inspection_end\":\"$end\",
  \"policy\":{\"result_entry_days\":1,\"reminder_offsets\":[1],\"reminder_time\":\"00:00\",\"progress_seconds\":1}}" | jq -c '{id, state, commitment}'
wait_for "the freeze" "call GET /api/v1/batches/$id '$coordinator' | jq -e '.state == \"frozen\"'"
call POST "/api/v1/batches/$id/beacon" "$coordinator" '{"beacon":"witness-a|witness-b"}' | jq -c .
wait_for "the lock" "call GET /api/v1/batches/$id '$coordinator' | jq -e '.state == \"locked\"'"
echo "== drawn; the public proof verifies:"
curl -sS "$API/public/batches/$id/draw-proof" -o /tmp/$id-proof.json
curl -sS "$API/public/batches/$id/population.tsv" -o /tmp/$id-population.tsv
$SPOTCHECK verify-draw --proof /tmp/$id-proof.json --population /tmp/$id-population.tsv
echo "== 南湖区 matches its inspectors"
# The county's workflow starts right after the lock; retry until it takes the match.
wait_for "the match" "call POST /api/v1/batches/$id/counties/330402/match '$officer' | tee /tmp/$id-match.json | jq -e '.matched'"
jq -c '{round, matched, match_seed}' /tmp/$id-match.json
drawn=$(call GET "/api/v1/batches/$id" "$coordinator" | jq .drawn_count)
# Every drawn object's task, not only the first to be created.
wait_for "the tasks" "call GET '/api/v1/batches/$id/tasks?stage=assigned' '$coordinator' | jq -e '.items | length == $drawn'"
keys=$(call GET "/api/v1/batches/$id/tasks" "$coordinator" | jq -r '.items[].object_key')
for key in $keys; do
	# An inspection cannot be reported before its object reached the county.
	call POST "/api/v1/batches/$id/tasks/$key/inspected" "$officer" "{\"completed_on\":\"$today\"}" |
		jq -ce 'if .stage == "inspected" then {object_key, county, county_name, stage, result_due} else error("inspection refused: \(.)") end'
done
echo "== each result is due in one working day: on a working day its reminder goes to 南湖区 at once"
# (On a weekend or holiday the reminder's day has gone by: none is sent.)
for _ in $(seq 20); do
	[ "$(call GET "/api/v1/notifications?batch=$id&kind=reminder" "$coordinator" | jq '.items | length')" = "$drawn" ] && break
	sleep 0.5
done
call GET "/api/v1/notifications?batch=$id&kind=reminder" "$coordinator" | jq -c '.items[] | {region_code, region_name, role, body, delivered}'
sleep 2 # counties report to the batch at most once a second (policy progress_seconds)
echo "== progress (the batch workflow's query):"
call GET "/api/v1/batches/$id/progress?source=workflow" "$coordinator" | jq -c '.total | {objects, stages, overdue}'
for key in $keys; do
	call POST "/api/v1/batches/$id/tasks/$key/result" "$officer" '{"result_code":"no_problem","method":"on_site"}' >/dev/null
	call POST "/api/v1/batches/$id/tasks/$key/review" "$officer" '{"approve":true}' | jq -c '{object_key, stage}'
done
wait_for "the archive" "call GET /api/v1/batches/$id '$coordinator' | jq -e '.state == \"archived\"'"
echo "== published and archived"
call GET "/api/v1/accountability?batch=$id" "$coordinator" | jq -c '{accountability_entries: (.items | length)}'
curl -sS "$API/public/batches/$id/summary" | jq -c .
call GET "/api/v1/batches/$id/archive" "$coordinator" | jq -c '[.files[].name]'
echo "Temporal Web UI: http://localhost:8233/namespaces/default/workflows?query=WorkflowId+STARTS_WITH+%22batch%2F$id%22"
