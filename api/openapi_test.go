package api

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("load api/openapi.json: %v", err)
	}
	return doc
}

// fullHandler is the checked handler (testHandler) with every dependency
// the routes use.
func fullHandler(t *testing.T) http.Handler {
	t.Helper()
	return fullHandlerOn(t, testenv.DB(t))
}

func fullHandlerOn(t testing.TB, db *sqlx.DB) http.Handler {
	t.Helper()
	return checked(t, fullEngineOn(t, db))
}

func fullEngineOn(t testing.TB, db *sqlx.DB) *gin.Engine {
	t.Helper()
	return testEngine(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{},
		Temporal: testTemporal(t), TaskQueue: "api-scope-test"})
}

// TestOpenAPICoversEveryRoute is the guard of api/openapi.json: it is a
// valid OpenAPI document, names every registered route and no other.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	// kin-openapi validates 3.1 documents with its 3.0 rules where 3.1
	// adds nothing this document uses (no webhooks, no type arrays).
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.json is not valid: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range fullEngineOn(t, testenv.DB(t)).Routes() {
		registered[r.Method+" "+ginToOpenAPI(r.Path)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(registered)) {
		if !documented[k] {
			t.Errorf("route %s is not in api/openapi.json", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		if !registered[k] {
			t.Errorf("api/openapi.json names %s, which is not a route", k)
		}
	}
	// Served without a token.
	rec := do(fullHandler(t), "GET", "/api/v1/openapi.json", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"openapi": "3.1.0"`) {
		t.Errorf("GET /api/v1/openapi.json: %d", rec.Code)
	}
}

// ginToOpenAPI turns /a/:b/*c into /a/{b}/{c}.
func ginToOpenAPI(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// scopeMatrix is who may call each operation of api/openapi.json, by
// operationId. Letters: A admin, C coordinator, D department officer, K
// county officer (of 330402), I inspector, U auditor; P public (no token).
// An upper-case letter: the role may call it on the foreign fixtures (a
// batch task, object, inspector and accountability row of county 330411,
// a check item of another department) and is never refused. A lower-case
// letter: the role may call the route, but the foreign fixture is outside
// its scope, so 403 or 404. A role not named gets 403 (401 without a
// token). Whatever is answered to K and I with 2xx must not contain the
// foreign object, inspector or county, except on cityWide operations.
var scopeMatrix = map[string]string{
	"getMe": "ACDKIU", "listUsers": "A", "createUser": "A", "listAudit": "AU", "verifyAudit": "AU",
	"getOpenAPI": "P", "healthz": "P", "readyz": "P", "metrics": "P",

	"listRegions": "ACDKIU", "getRegion": "ACDKIU", "listDepartments": "ACDKIU",
	"createRegion": "AC", "createDepartment": "AC",
	"listCheckItems": "ACDKIU", "getCheckItem": "ACDKIU", "checkItemHistory": "ACDKIU",
	"listCheckItemVersions": "ACDKIU", "getCheckItemVersion": "ACDKIU",
	"createCheckItem": "ACd", "newCheckItemVersion": "ACd", "publishCheckItemVersion": "ACd", "unpublishCheckItemVersion": "ACd",
	"listObjects": "ACDKU", "getObject": "ACDKU", "objectHistory": "ACDKU", "objectItems": "ACDKU",
	"objectConflicts": "ACDU", "createObject": "ACD", "updateObject": "ACD", "deactivateObject": "ACD",
	"listInspectors": "ACDKU", "getInspector": "ACDUki", "inspectorHistory": "ACDUk", "inspectorConflicts": "ACDUki",
	"createInspector": "ACD", "updateInspector": "ACD", "deactivateInspector": "ACD", "declareConflict": "ACD", "withdrawConflict": "ACD",
	"importObjects": "ACD", "importInspectors": "ACD", "exportObjects": "ACDKU", "exportInspectors": "ACDU",
	"templateObjects": "ACDKIU", "templateInspectors": "ACDKIU",
	"listCalendarYears": "ACDKIU", "getCalendarYear": "ACDKIU", "dueDate": "ACDKIU", "putCalendarYear": "AC",
	"listContacts": "ACU", "listNotifications": "ACUKI", "getContact": "ACU", "createContact": "AC", "deleteContact": "AC",

	"createBatch": "ACD", "simulateDraw": "ACD", "listBatches": "ACDKIU", "getBatch": "ACDKIU",
	"listDrawnObjects": "ACDKU", "postBeacon": "AC", "getProgress": "ACDKU", "postMatch": "k",
	"listTasks": "ACDUki", "getTask": "ACDUki",
	"postInspected": "ki", "postResult": "ki", "postFollowUp": "ki", "postReview": "k", "postReplacement": "k", "postTransfer": "k", "postExtension": "AC",
	"getArchive": "ACU", "getArchiveFile": "ACU", "listAccountability": "ACUK",
	"getWorklist": "KI", "getMatchPool": "ACUk", "getTaskSheet": "ACDUki",
	"getMatchProof": "ACU", "postSetAside": "k", "listSetAsides": "ACUK", "listMatchProofs": "ACU",

	"createPlan": "ACdk", "listPlans": "ACDKIU", "getPlan": "ACDKIU", "updatePlan": "ACdk", "submitPlan": "ACdk",
	"returnPlan": "AC", "approvePlan": "AC", "publishPlan": "AC", "startPlan": "AC", "pausePlan": "AC", "resumePlan": "AC",
	"cancelPlan": "AC", "extraPlanBatch": "AC", "planProgress": "ACDKIU", "cityPlan": "ACDKIU", "publicPlans": "P",

	"createCase": "ACDk", "listCases": "ACDKIU", "getCase": "ACDKIU", "assignCase": "k", "getStatistics": "ACU", "getDashboard": "ACUK",
	"progressXLSX": "ACDKU", "accountabilityXLSX": "ACUK", "statisticsXLSX": "ACU",

	"getDrawProof": "P", "getPopulation": "P", "getSummary": "P", "publicDrawn": "P", "publicCheckItems": "P",
	"publicCheckItemVersions": "P", "publicResults": "P", "publicBatches": "P", "publicBatch": "P", "publicAuditHeads": "P",
}

// cityWide operations show the whole city's libraries to every reader by
// design: the object directory, regions and the import templates (which
// list the regions).
var cityWide = map[string]bool{
	"listRegions": true, "getRegion": true, "listObjects": true, "getObject": true, "objectHistory": true,
	"objectItems": true, "exportObjects": true, "templateObjects": true, "templateInspectors": true,
}

type scopeFixture struct {
	batch, foreignObject, ownObject, foreignInspector, ownInspector, item, ownDept string
}

func newScopeFixture(t *testing.T) scopeFixture {
	t.Helper()
	return newScopeFixtureIn(t, testenv.DB(t))
}

func newScopeFixtureIn(t testing.TB, db *sqlx.DB) scopeFixture {
	t.Helper()
	n := testenv.UniqueID("")[1:]
	f := scopeFixture{batch: fmt.Sprintf("scope-%s", n), foreignObject: fmt.Sprintf("SCOPE-FO-%s", n), ownObject: fmt.Sprintf("SCOPE-OO-%s", n),
		foreignInspector: fmt.Sprintf("SCOPE-FI-%s", n), ownInspector: fmt.Sprintf("SCOPE-OI-%s", n),
		item: fmt.Sprintf("SCI-%s", n), ownDept: fmt.Sprintf("SCA%s", n)}
	otherDept := fmt.Sprintf("SCB%s", n)
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO departments (code, name) VALUES ($1, $1), ($2, $2)`, []any{f.ownDept, otherDept}},
		{`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, department_code, effective_from, published)
		  VALUES ($1, 1, '范围测试事项', 'enterprise', '{on_site}', 'general', '0.05', $2, '2025-01-01', true)`, []any{f.item, otherDept}},
		{`INSERT INTO objects (key, kind, name, region_code) VALUES ($1, 'enterprise', '秀洲测试企业', '330411'), ($2, 'enterprise', '南湖测试企业', '330402')`, []any{f.foreignObject, f.ownObject}},
		{`INSERT INTO inspectors (key, name, region_code) VALUES ($1, '秀洲检查员', '330411'), ($2, '南湖检查员', '330402')`, []any{f.foreignInspector, f.ownInspector}},
		{`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '亲属')`, []any{f.foreignInspector, f.foreignObject}},
		{`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
		  VALUES ($1, 'committed', '{}', 'x', repeat('a', 64), now(), 'test')`, []any{f.batch}},
		{`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
		  VALUES ($1, 1, $2, 's', ARRAY[$4], '330411', '330411'), ($1, 2, $3, 's', ARRAY[$4], '330402', '330402')`, []any{f.batch, f.foreignObject, f.ownObject, f.item}},
		{`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors) VALUES ($1, $2, '330411', 'assigned', ARRAY[$3]),
		  ($1, $4, '330402', 'assigned', ARRAY[$5])`, []any{f.batch, f.foreignObject, f.foreignInspector, f.ownObject, f.ownInspector}},
		{`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at) VALUES ($1, $2, '330411', 'inspection', '2025-06-30', now())`, []any{f.batch, f.foreignObject}},
		{`INSERT INTO notifications (id, kind, region_code, role, subject, body, payload) VALUES
		   ('escalation/' || $1 || '/330411', 'escalation', '330411', 'county_officer', '双随机抽查逾期督办', $2 || ' 逾期', jsonb_build_object('batch_id', $1, 'county', '330411')),
		   ('assigned/' || $1 || '/330402', 'assigned', '330402', 'county_officer', '双随机抽查任务已分配', '南湖区的任务', jsonb_build_object('batch_id', $1, 'county', '330402'))`, []any{f.batch, f.foreignObject}},
	}
	for _, s := range stmts {
		if _, err := db.Exec(s.q, s.args...); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
	return f
}

// path fills an OpenAPI path with the foreign fixtures.
func (f scopeFixture) path(p string) string {
	key := f.foreignObject
	if strings.HasPrefix(p, "/api/v1/inspectors/") {
		key = f.foreignInspector
	}
	code := f.item
	if strings.HasPrefix(p, "/api/v1/regions/") {
		code = "330411"
	}
	id := f.batch
	if strings.HasPrefix(p, "/api/v1/contacts/") {
		id = "999999999"
	}
	return strings.NewReplacer("{id}", id, "{county}", "330411", "{key}", key, "{object_key}", f.foreignObject,
		"{code}", code, "{version}", "1", "{year}", "2025", "{name}", "manifest.json").Replace(p)
}

// TestScopeMatrix runs every operation of the OpenAPI document as every
// role and without a token, on another county's and department's data,
// and checks the answer against scopeMatrix: no read or write crosses
// scope, and nothing is a 5xx.
func TestScopeMatrix(t *testing.T) {
	doc := loadOpenAPI(t)
	h := fullHandler(t)
	f := newScopeFixture(t)
	roles := []struct{ letter, token string }{
		{"A", "admin"}, {"C", "coordinator"}, {"D", "department_officer/" + f.ownDept}, {"K", "county_officer/330402"},
		{"I", "inspector/" + f.ownInspector}, {"U", "auditor"}, {"-", ""},
	}
	markers := []string{f.foreignObject, f.foreignInspector, "330411", "秀洲"}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			seen[op.OperationID] = true
			allowed, ok := scopeMatrix[op.OperationID]
			if !ok {
				t.Errorf("%s %s (%s) has no row in scopeMatrix", method, path, op.OperationID)
				continue
			}
			url := f.path(path)
			if op.OperationID == "getProgress" {
				// The workflow's variant is checked as the database's is
				// (its filter: TestScopeOfWorkflowProgress).
				url += "?source=workflow"
			}
			for _, r := range roles {
				hdr := map[string]string{}
				if r.token != "" {
					hdr["Authorization"] = "Bearer " + r.token
				}
				var body string
				if method != http.MethodGet && method != http.MethodDelete {
					body, hdr["Content-Type"] = "{}", "application/json"
				}
				rec := doBody(h, method, url, body, hdr)
				what := fmt.Sprintf("%s %s as %s: %d %.300s", method, url, r.letter, rec.Code, rec.Body)
				if rec.Code >= 500 {
					t.Errorf("%s: a 5xx", what)
					continue
				}
				public := allowed == "P"
				switch {
				case public:
					if rec.Code == 401 || rec.Code == 403 {
						t.Errorf("%s: public, refused", what)
					}
				case r.letter == "-":
					if rec.Code != 401 {
						t.Errorf("%s: want 401 without a token", what)
					}
				case strings.Contains(allowed, r.letter):
					if rec.Code == 401 || rec.Code == 403 {
						t.Errorf("%s: refused, but the matrix allows it", what)
					}
				case strings.Contains(allowed, strings.ToLower(r.letter)):
					if rec.Code == 401 || (rec.Code >= 200 && rec.Code < 300 && cityWide[op.OperationID]) {
						t.Errorf("%s: want 403 or 404 or a filtered answer", what)
					}
				default:
					if rec.Code != 403 {
						t.Errorf("%s: want 403", what)
					}
				}
				if (r.letter == "K" || r.letter == "I") && rec.Code < 300 && !public && !cityWide[op.OperationID] {
					for _, m := range markers {
						if strings.Contains(rec.Body.String(), m) {
							t.Errorf("%s: shows %q, outside the caller's scope", what, m)
						}
					}
				}
				if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType) {
					t.Errorf("%s: not problem+json but %q", what, rec.Header().Get("Content-Type"))
				}
			}
		}
	}
	for id := range scopeMatrix {
		if !seen[id] {
			t.Errorf("scopeMatrix names %s, which is not in api/openapi.json", id)
		}
	}
	// The filtered lists do give the caller's own rows.
	for _, c := range []struct{ token, path, want string }{
		{"county_officer/330402", "/api/v1/batches/" + f.batch + "/tasks", f.ownObject},
		{"inspector/" + f.ownInspector, "/api/v1/batches/" + f.batch + "/tasks", f.ownObject},
		{"county_officer/330402", "/api/v1/inspectors?q=" + f.ownInspector[:9], f.ownInspector},
		{"county_officer/330402", "/api/v1/batches/" + f.batch + "/progress", "330402"},
		{"county_officer/330402", "/api/v1/notifications", "南湖区的任务"},
		{"coordinator", "/api/v1/notifications?county=330411", f.foreignObject},
		{"admin", "/api/v1/batches/" + f.batch + "/tasks", f.foreignObject},
	} {
		rec := do(h, "GET", c.path, bearer(c.token))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s as %s: %d %.300s, want %s in it", c.path, c.token, rec.Code, rec.Body, c.want)
		}
	}
}

func doBody(h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestScopeOfWorkflowProgress is the scope of GET …/progress?source=workflow
// (the batch workflow's figures, which the fixtures of TestScopeMatrix do
// not run): a county officer gets their county's row and a total of it.
func TestScopeOfWorkflowProgress(t *testing.T) {
	p := lifecycle.BatchProgress{BatchID: "B", Counties: []lifecycle.CountyProgress{
		{County: "330402", Objects: 3, Stages: map[inspection.Stage]int{inspection.Assigned: 3}},
		{County: "330411", Objects: 5, Stages: map[inspection.Stage]int{inspection.Closed: 5}},
	}, Total: lifecycle.CountyProgress{County: "total", Objects: 8}}
	got := scopeProgress(p, "330402")
	if len(got.Counties) != 1 || got.Counties[0].County != "330402" || got.Total.Objects != 3 || got.Total.Stages[inspection.Closed] != 0 {
		t.Errorf("county officer of 330402 sees %+v", got)
	}
	if all := scopeProgress(p, ""); len(all.Counties) != 2 || all.Total.Objects != 8 {
		t.Errorf("city sees %+v", all)
	}
}

// TestCanSeePlan is the read scope of plans (the fixtures of
// TestScopeMatrix hold no plan).
func TestCanSeePlan(t *testing.T) {
	own := plan.Plan{Spec: plan.Spec{DepartmentCode: "D1", CountyCode: "330402"}, State: plan.Draft}
	foreign := plan.Plan{Spec: plan.Spec{DepartmentCode: "D2", CountyCode: "330411"}, State: plan.Draft}
	published := plan.Plan{Spec: plan.Spec{DepartmentCode: "D2", CountyCode: "330411"}, State: plan.Published}
	for _, c := range []struct {
		who  string
		sc   auth.Scope
		p    plan.Plan
		want bool
	}{
		{"coordinator", auth.Scope{}, foreign, true},
		{"department officer, own", auth.Scope{Department: "D1"}, own, true},
		{"department officer, another's", auth.Scope{Department: "D1"}, foreign, false},
		{"county officer, own", auth.Scope{County: "330402"}, own, true},
		{"county officer, another county's", auth.Scope{County: "330402"}, foreign, false},
		{"inspector, a draft", auth.Scope{InspectorKey: "I1"}, own, false},
		{"inspector, a published plan", auth.Scope{InspectorKey: "I1"}, published, true},
		{"no scope", auth.Scope{None: true}, published, false},
	} {
		if got := canSeePlan(c.sc, c.p); got != c.want {
			t.Errorf("%s: %v, want %v", c.who, got, c.want)
		}
	}
}
