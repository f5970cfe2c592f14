#!/usr/bin/env bash
# A joint check (联合检查, 进一次门、查多项事) on the running `make run`
# system: ZR-14 belongs to 测绘地理信息处 (CHC) with 地理信息与数据服务处
# (DLXX) as its joint department, so 南湖区's match runs once per
# department over that department's own inspectors, each with its own
# proof, and every drawn object's team is both departments' inspectors.
# The batch then runs to its archive.
#
#   make run            # in another terminal
#   docs/demo-joint.sh
#
# Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
API=${API:-http://localhost:8080}
DATA_DIR=${DATA_DIR:-.data}
if [ -z "${DATABASE_URL:-}" ]; then
	port=$(sed -n 4p "$DATA_DIR/postgres/postmaster.pid")
	export DATABASE_URL="postgres://postgres@127.0.0.1:$port/spotcheck?sslmode=disable"
fi
SPOTCHECK=${SPOTCHECK:-bin/spotcheck}
coordinator=$($SPOTCHECK token create --role coordinator --name "joint demo coordinator")
officer=$($SPOTCHECK token create --role county_officer --county 330402 --name "joint demo 南湖区")

call() { # method path token [body]
	curl -sS -X "$1" "$API$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}
}
wait_for() { # description command
	for _ in $(seq 300); do
		if eval "$2" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	echo "timed out waiting for $1" >&2
	exit 1
}

id="JOINT-$(date +%s)"
today=$(TZ=Asia/Shanghai date +%F)
end=$(TZ=Asia/Shanghai date -d '+60 days' +%F)
echo "== batch $id: two surveying enterprises of 南湖区 for the joint item ZR-14"
call POST /api/v1/batches "$coordinator" "{\"id\":\"$id\",\"name\":\"联合检查演示批次\",
  \"rules\":{\"items\":[{\"code\":\"ZR-14\",\"version\":1}],\"filter\":{\"regions\":[\"南湖区\"]},\"quotas\":[{\"count\":2}]},
  \"inspection_end\":\"$end\",\"policy\":{\"beacon_wait_minutes\":0,\"progress_seconds\":1}}" | jq -c '{id, state}'
wait_for "the lock" "call GET /api/v1/batches/$id '$coordinator' | jq -e '.state == \"locked\"'"
echo "== 南湖区 matches: once per department"
wait_for "the match" "call POST /api/v1/batches/$id/counties/330402/match '$officer' | tee /tmp/$id-match.json | jq -e '.matched'"
jq -c '{round, matched, match_seed}' /tmp/$id-match.json
call GET "/api/v1/batches/$id/counties/330402/match-proofs" "$coordinator" > /tmp/$id-proofs.json
jq -c '.items[] | {kind, department_code, url}' /tmp/$id-proofs.json
# Each department's proof assigns only that department's own inspectors
# (its pool), and every object's team is the two departments' teams.
for dept in CHC DLXX; do
	call GET "/api/v1/batches/$id/counties/330402/match-proof?department=$dept" "$coordinator" > /tmp/$id-$dept.json
	jq -e --arg d "$dept" '.department_code == $d and (.assignments | length) == 2 and
		([.inspectors[].inspector_key] as $pool | all(.assignments[].inspectors[]; . as $k | $pool | index($k)))' /tmp/$id-$dept.json >/dev/null ||
		{ echo "the $dept proof assigns an inspector outside its department" >&2; exit 1; }
	echo "$dept: pool $(jq -c '[.inspectors[].inspector_key]' /tmp/$id-$dept.json), assigned $(jq -c '[.assignments[] | {(.object_key): .inspectors}] | add' /tmp/$id-$dept.json)"
	$SPOTCHECK verify-match --proof "$API/api/v1/batches/$id/counties/330402/match-proof?department=$dept" --token "$coordinator"
done
drawn=$(call GET "/api/v1/batches/$id" "$coordinator" | jq .drawn_count)
wait_for "the tasks" "call GET '/api/v1/batches/$id/tasks?stage=assigned' '$coordinator' | jq -e '.items | length == $drawn'"
call GET "/api/v1/batches/$id/tasks" "$coordinator" > /tmp/$id-tasks.json
jq -e -s '.[0] as $t | .[1] as $c | .[2] as $d | all($c.assignments[]; . as $a |
	($t.items[] | select(.object_key == $a.object_key) | .inspectors) == ($a.inspectors + ($d.assignments[] | select(.object_key == $a.object_key) | .inspectors)))' \
	/tmp/$id-tasks.json /tmp/$id-CHC.json /tmp/$id-DLXX.json >/dev/null ||
	{ echo "a team is not the two departments' inspectors" >&2; exit 1; }
echo "== every team is CHC's and DLXX's own inspectors; the batch runs to its archive"
for key in $(call GET "/api/v1/batches/$id/tasks" "$coordinator" | jq -r '.items[].object_key'); do
	call POST "/api/v1/batches/$id/tasks/$key/inspected" "$officer" "{\"completed_on\":\"$today\"}" >/dev/null
	call POST "/api/v1/batches/$id/tasks/$key/result" "$officer" '{"result_code":"未发现问题","method":"实地检查"}' >/dev/null
	call POST "/api/v1/batches/$id/tasks/$key/review" "$officer" '{"approve":true}' | jq -c '{object_key, county, county_name, stage, inspectors}'
done
wait_for "the archive" "call GET /api/v1/batches/$id '$coordinator' | jq -e '.state == \"archived\"'"
echo "== joint batch $id archived"
