package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

// TestMain is the api package's: its tests use a real PostgreSQL database.
func TestMain(m *testing.M) { testenv.Main(m) }

var (
	libSeq = atomic.Int64{}
	libRng = rand.New(rand.NewPCG(rand.Uint64(), 3))
)

func uniqueKey(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, rand.Int64N(1e9), libSeq.Add(1))
}

// api calls a handler backed by the package's test database.
type apiClient struct {
	t *testing.T
	h http.Handler
}

func newLibraryClient(t *testing.T) apiClient {
	t.Helper()
	return apiClient{t: t, h: asAdmin(testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}}))}
}

// call sends body (a string is sent as is, anything else as JSON) with
// headers given as name, value pairs.
func (a apiClient) call(method, path string, body any, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = strings.NewReader(string(data))
	}
	req := httptest.NewRequest(method, path, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		a.t.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec
}

// ok checks the status and decodes the body into v (if not nil).
func (a apiClient) ok(rec *httptest.ResponseRecorder, status int, v any) {
	a.t.Helper()
	if rec.Code != status {
		a.t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			a.t.Fatalf("decode %s: %v", rec.Body, err)
		}
	}
}

// problem checks that rec is a problem of status naming every field given.
func (a apiClient) problem(rec *httptest.ResponseRecorder, status int, fields ...string) Problem {
	a.t.Helper()
	var p Problem
	if rec.Code != status {
		a.t.Errorf("status %d, want %d: %s", rec.Code, status, rec.Body)
		return p
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		a.t.Errorf("content type %q", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		a.t.Fatalf("decode problem %s: %v", rec.Body, err)
	}
	if p.Status != status || p.Detail == "" {
		a.t.Errorf("problem %+v", p)
	}
	for _, f := range fields {
		if !slices.ContainsFunc(p.Errors, func(e FieldProblem) bool { return e.Field == f && e.Message != "" }) {
			a.t.Errorf("problem does not name %q: %s", f, rec.Body)
		}
	}
	return p
}

func objPath(key string) string { return "/api/v1/objects/" + url.PathEscape(key) }

func TestRegionsAndDepartmentsAPI(t *testing.T) {
	a := newLibraryClient(t)
	var page Page[library.Region]
	a.ok(a.call("GET", "/api/v1/regions?parent=330400&limit=500", nil), 200, &page)
	// Other tests of this package add regions; Jiaxing's nine must be there.
	for _, code := range []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"} {
		if !slices.ContainsFunc(page.Items, func(r library.Region) bool { return r.Code == code }) {
			t.Errorf("Jiaxing's unit %s missing: %+v", code, page)
		}
	}
	a.ok(a.call("GET", "/api/v1/regions?limit=4", nil), 200, &page)
	if len(page.Items) != 4 || page.NextCursor == "" {
		t.Fatalf("page 1: %+v", page)
	}
	first := page.Items[3].Code
	a.ok(a.call("GET", "/api/v1/regions?limit=4&cursor="+page.NextCursor, nil), 200, &page)
	if len(page.Items) == 0 || page.Items[0].Code <= first {
		t.Errorf("page 2: %+v", page)
	}

	code := fmt.Sprintf("HZ%d", libSeq.Add(1))
	var r library.Region
	a.ok(a.call("POST", "/api/v1/regions", map[string]string{"code": code, "name": "杭州市" + code}), 201, &r)
	if r.Code != code || r.ParentCode != "" {
		t.Errorf("region %+v", r)
	}
	rec := a.call("POST", "/api/v1/regions", map[string]string{"code": code + "-1", "name": "西湖区" + code, "parent_code": "杭州市" + code})
	a.ok(rec, 201, &r)
	if r.ParentCode != code || rec.Header().Get("Location") != "/api/v1/regions/"+code+"-1" {
		t.Errorf("county %+v %v", r, rec.Header())
	}
	a.ok(a.call("GET", "/api/v1/regions/"+code+"-1", nil), 200, &r)
	if r.Name != "西湖区"+code {
		t.Errorf("get region %+v", r)
	}
	a.problem(a.call("GET", "/api/v1/regions/nowhere", nil), 404)
	a.problem(a.call("POST", "/api/v1/regions", map[string]string{"code": code, "name": "重复"}), 409)
	a.problem(a.call("POST", "/api/v1/regions", map[string]string{"code": "?", "parent_code": "nowhere"}), 400, "code", "name", "parent_code")
	a.problem(a.call("POST", "/api/v1/regions", `{"code": 330100}`), 400, "code")
	a.problem(a.call("GET", "/api/v1/regions?parent=nowhere", nil), 400, "parent")

	dep := fmt.Sprintf("D%d", libSeq.Add(1))
	var d library.Department
	a.ok(a.call("POST", "/api/v1/departments", map[string]string{"code": dep, "name": "执法监察支队" + dep}), 201, &d)
	a.problem(a.call("POST", "/api/v1/departments", map[string]string{"code": dep, "name": "x"}), 409)
	a.problem(a.call("POST", "/api/v1/departments", map[string]string{"name": "x", "head": "y"}), 400, "head")
	var deps Page[library.Department]
	a.ok(a.call("GET", "/api/v1/departments?limit=500", nil), 200, &deps)
	if !slices.ContainsFunc(deps.Items, func(x library.Department) bool { return x.Code == dep }) {
		t.Errorf("departments %+v", deps)
	}
}

func TestObjectsAPI(t *testing.T) {
	a := newLibraryClient(t)
	key := uscc.Generate(libRng, "330411")
	body := map[string]any{"key": key, "kind": "enterprise", "name": "嘉兴某某建材有限公司", "region_code": "秀洲区",
		"tags": []string{"砂石"}, "risk_level": "较高", "attributes": map[string]any{"legal_person": "张某"}}
	rec := a.call("POST", "/api/v1/objects", body)
	var o library.Object
	a.ok(rec, 201, &o)
	if rec.Header().Get("ETag") != `"1"` || rec.Header().Get("Location") != objPath(key) {
		t.Errorf("headers %v", rec.Header())
	}
	if o.RegionCode != "330411" || o.RiskLevel != "raised" || o.Status != "active" {
		t.Errorf("created %+v", o)
	}
	p := a.problem(a.call("POST", "/api/v1/objects", body), 409)
	if !strings.Contains(p.Detail, "an object with key "+key+" already exists") {
		t.Errorf("conflict detail %q", p.Detail)
	}

	// Every problem at once, each naming its field.
	p = a.problem(a.call("POST", "/api/v1/objects", map[string]any{"key": "91330402MA0000000X", "kind": "enterprise",
		"region_code": "火星", "risk_level": "extreme", "last_inspected_at": "yesterday"}), 400,
		"key", "name", "region_code", "risk_level", "last_inspected_at")
	for _, e := range p.Errors {
		if e.Field == "key" && !strings.Contains(e.Message, "unified social credit code") {
			t.Errorf("key message %q", e.Message)
		}
	}
	a.problem(a.call("POST", "/api/v1/objects", `{"key": "X", "kind": "project", "name": "n", "region_code": "330402", "colour": "red"}`), 400, "colour")
	a.problem(a.call("POST", "/api/v1/objects", `{"key": "X", "kind": "project", "name": "n", "region_code": "330402", "tags": "a"}`), 400, "tags")
	a.problem(a.call("POST", "/api/v1/objects", `{"key": "X", "kind": "project", "name": "n\u0000", "region_code": "330402"}`), 400, "name")
	a.problem(a.call("POST", "/api/v1/objects", `{"key": "X",`), 400)
	a.problem(a.call("POST", "/api/v1/objects", `[]`), 400)
	a.problem(a.call("POST", "/api/v1/objects", nil), 400)

	// Read with its ETag; 404 for a key nobody has.
	rec = a.call("GET", objPath(key), nil)
	a.ok(rec, 200, &o)
	var attrs map[string]string
	if err := json.Unmarshal(o.Attributes, &attrs); err != nil || attrs["legal_person"] != "张某" || rec.Header().Get("ETag") != `"1"` {
		t.Errorf("get: %v %s", rec.Header(), o.Attributes)
	}
	a.problem(a.call("GET", objPath("no such key"), nil), 404)

	// Update: If-Match required, must be current, and answers the new ETag.
	upd := map[string]any{"kind": "enterprise", "name": "嘉兴某某建材有限公司", "region_code": "330411", "credit_class": "C"}
	a.problem(a.call("PUT", objPath(key), upd), 428)
	a.problem(a.call("PUT", objPath(key), upd, "If-Match", `"abc"`), 400)
	rec = a.call("PUT", objPath(key), upd, "If-Match", `"1"`)
	a.ok(rec, 200, &o)
	if rec.Header().Get("ETag") != `"2"` || o.CreditClass != "C" || o.RowVersion != 2 {
		t.Errorf("put: %v %+v", rec.Header(), o)
	}
	p = a.problem(a.call("PUT", objPath(key), upd, "If-Match", `"1"`), 412)
	if !strings.Contains(p.Detail, "version 2") {
		t.Errorf("stale detail %q", p.Detail)
	}
	a.problem(a.call("PUT", objPath(key), map[string]any{"kind": "enterprise", "name": "", "region_code": "330411"}, "If-Match", `"2"`), 400, "name")
	a.problem(a.call("PUT", objPath(key), map[string]any{"key": "OTHER", "kind": "project", "name": "x", "region_code": "330411"}, "If-Match", `"2"`), 400, "key")
	a.problem(a.call("PUT", objPath("no such key"), upd, "If-Match", `"1"`), 404)

	// Deactivate, once.
	a.problem(a.call("POST", objPath(key)+"/deactivate", map[string]string{"status": "active"}), 400, "status")
	a.problem(a.call("POST", objPath(key)+"/deactivate", nil, "If-Match", `"1"`), 412)
	rec = a.call("POST", objPath(key)+"/deactivate", map[string]string{"status": "迁出"})
	a.ok(rec, 200, &o)
	if o.Status != "moved_out" || rec.Header().Get("ETag") != `"3"` {
		t.Errorf("deactivated %+v", o)
	}
	a.problem(a.call("POST", objPath(key)+"/deactivate", nil), 409)

	// History: who, when, before and after.
	var h Page[library.Change]
	a.ok(a.call("GET", objPath(key)+"/history", nil), 200, &h)
	if len(h.Items) != 3 || h.Items[0].Action != "create" || h.Items[0].Actor != "admin:test" || h.Items[0].Source != "api" ||
		h.Items[1].Before == nil || h.Items[2].After == nil {
		t.Errorf("history %+v", h)
	}
	a.ok(a.call("GET", objPath(key)+"/history?limit=2", nil), 200, &h)
	if len(h.Items) != 2 || h.NextCursor == "" {
		t.Fatalf("history page 1 %+v", h)
	}
	cursor := h.NextCursor
	h = Page[library.Change]{}
	a.ok(a.call("GET", objPath(key)+"/history?limit=2&cursor="+cursor, nil), 200, &h)
	if len(h.Items) != 1 || h.NextCursor != "" {
		t.Errorf("history page 2 %+v", h)
	}
	a.problem(a.call("GET", objPath(key)+"/history?cursor=!!", nil), 400, "cursor")
	a.problem(a.call("GET", objPath("no such key")+"/history", nil), 404)

	// Keys that need escaping in a URL.
	odd := "嘉土 2024#3?x=1&y=%"
	a.ok(a.call("POST", "/api/v1/objects", map[string]any{"key": odd, "kind": "behaviour", "name": "违法用地行为", "region_code": "JXJK"}), 201, nil)
	a.ok(a.call("GET", objPath(odd), nil), 200, &o)
	if o.Key != odd {
		t.Errorf("odd key %q", o.Key)
	}
}

func TestObjectListAPI(t *testing.T) {
	a := newLibraryClient(t)
	tag := uniqueKey("t")
	st := library.NewStore(testenv.DB(t))
	var ins []library.ObjectInput
	for i := range 30 {
		ins = append(ins, library.ObjectInput{Key: fmt.Sprintf("%s-%02d", tag, i), Kind: "project", Name: fmt.Sprintf("项目%02d", i),
			RegionCode: []string{"330421", "330424", "330483"}[i%3], Tags: []string{tag}, RiskLevel: []string{"low", "high"}[i%2],
			CreditClass: "A"})
	}
	if _, err := st.CreateObjects(t.Context(), library.Actor{Name: "t"}, ins); err != nil {
		t.Fatal(err)
	}
	var keys []string
	cursor := ""
	for {
		var page Page[library.Object]
		a.ok(a.call("GET", "/api/v1/objects?tag="+url.QueryEscape(tag)+"&risk=high&region=330400&credit=A&kind=项目&status=active&limit=4&cursor="+cursor, nil), 200, &page)
		for _, o := range page.Items {
			if o.RiskLevel != "high" {
				t.Errorf("filter let %+v through", o)
			}
			keys = append(keys, o.Key)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(keys) != 15 || !slices.IsSorted(keys) || keys[0] != tag+"-01" {
		t.Errorf("paged keys %v", keys)
	}
	var page Page[library.Object]
	a.ok(a.call("GET", "/api/v1/objects?tag="+url.QueryEscape(tag)+"&tag=none&limit=100", nil), 200, &page)
	if len(page.Items) != 0 {
		t.Errorf("two tags: %d", len(page.Items))
	}
	a.ok(a.call("GET", "/api/v1/objects?q="+url.QueryEscape("项目2")+"&tag="+url.QueryEscape(tag)+"&region=嘉善县", nil), 200, &page)
	if len(page.Items) != 3 { // 项目21, 24, 27
		t.Errorf("q and region: %d", len(page.Items))
	}

	a.problem(a.call("GET", "/api/v1/objects?risk=extreme", nil), 400, "risk")
	a.problem(a.call("GET", "/api/v1/objects?credit=E&kind=robot", nil), 400, "credit", "kind")
	a.problem(a.call("GET", "/api/v1/objects?region=nowhere", nil), 400, "region")
	a.problem(a.call("GET", "/api/v1/objects?regoin=330402", nil), 400, "regoin")
	a.problem(a.call("GET", "/api/v1/objects?risk=low&risk=high", nil), 400, "risk")
	a.problem(a.call("GET", "/api/v1/objects?limit=0", nil), 400, "limit")
	a.problem(a.call("GET", "/api/v1/objects?cursor=***", nil), 400, "cursor")
	a.problem(a.call("GET", "/api/v1/inspectors?risk=high", nil), 400, "risk")
	a.problem(a.call("GET", "/api/v1/inspectors?status=fired", nil), 400, "status")
}

func TestInspectorsAndConflictsAPI(t *testing.T) {
	a := newLibraryClient(t)
	key := uniqueKey("E")
	in := map[string]any{"key": key, "name": "张三", "region_code": "330482", "unit": "乍浦所", "certificate_no": "ZJ001",
		"certificate_valid_until": "2027-06-30", "tags": []string{"土地"}, "max_load": 5}
	rec := a.call("POST", "/api/v1/inspectors", in)
	var i library.Inspector
	a.ok(rec, 201, &i)
	if i.MaxLoad != 5 || i.CertificateValidUntil.String() != "2027-06-30" || rec.Header().Get("ETag") != `"1"` {
		t.Errorf("created %+v", i)
	}
	a.problem(a.call("POST", "/api/v1/inspectors", in), 409)
	a.problem(a.call("POST", "/api/v1/inspectors", map[string]any{"key": "E\t2", "name": "x", "region_code": "330482", "max_load": 0}), 400, "key", "max_load")
	a.problem(a.call("POST", "/api/v1/inspectors", `{"key": "E3", "name": "x", "region_code": "330482", "max_load": "many"}`), 400, "max_load")

	path := "/api/v1/inspectors/" + url.PathEscape(key)
	rec = a.call("GET", path, nil)
	a.ok(rec, 200, &i)
	if rec.Header().Get("ETag") != `"1"` {
		t.Errorf("etag %q", rec.Header().Get("ETag"))
	}
	in["status"] = "on_leave"
	delete(in, "key")
	a.problem(a.call("PUT", path, in), 428)
	rec = a.call("PUT", path, in, "If-Match", `"1"`)
	a.ok(rec, 200, &i)
	if i.Status != "on_leave" || rec.Header().Get("ETag") != `"2"` {
		t.Errorf("put %+v", i)
	}
	a.problem(a.call("PUT", path, in, "If-Match", `"1"`), 412)
	a.problem(a.call("POST", path+"/deactivate", nil), 409) // not active any more
	in["status"] = "active"
	a.ok(a.call("PUT", path, in, "If-Match", `"2"`), 200, nil)
	a.ok(a.call("POST", path+"/deactivate", nil), 200, &i)
	if i.Status != "retired" {
		t.Errorf("deactivated %+v", i)
	}

	var list Page[library.Inspector]
	a.ok(a.call("GET", "/api/v1/inspectors?region=平湖市&status=retired&tag=土地&q="+url.QueryEscape(key), nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Key != key {
		t.Errorf("list %+v", list)
	}

	// Conflicts.
	obj := uscc.Generate(libRng, "330482")
	a.problem(a.call("POST", path+"/conflicts", map[string]string{"object_key": obj, "reason": "近亲属持股"}), 400, "object_key")
	a.ok(a.call("POST", "/api/v1/objects", map[string]any{"key": obj, "kind": "enterprise", "name": "平湖某某公司", "region_code": "330482"}), 201, nil)
	rec = a.call("POST", path+"/conflicts", map[string]string{"object_key": obj, "reason": "近亲属持股"})
	var cf library.Conflict
	a.ok(rec, 201, &cf)
	if cf.InspectorKey != key || cf.ObjectKey != obj || rec.Header().Get("Location") != path+"/conflicts/"+obj {
		t.Errorf("declared %+v %v", cf, rec.Header())
	}
	a.problem(a.call("POST", path+"/conflicts", map[string]string{"object_key": obj, "reason": "again"}), 409)
	a.problem(a.call("POST", path+"/conflicts", map[string]string{"object_key": obj}), 400, "reason")
	a.problem(a.call("POST", "/api/v1/inspectors/nobody/conflicts", map[string]string{"object_key": obj, "reason": "x"}), 404)
	var cfs Page[library.Conflict]
	a.ok(a.call("GET", path+"/conflicts", nil), 200, &cfs)
	if len(cfs.Items) != 1 || cfs.Items[0].Reason != "近亲属持股" {
		t.Errorf("conflicts %+v", cfs)
	}
	a.ok(a.call("GET", objPath(obj)+"/conflicts", nil), 200, &cfs)
	if len(cfs.Items) != 1 || cfs.Items[0].InspectorKey != key {
		t.Errorf("conflicts of object %+v", cfs)
	}
	a.problem(a.call("GET", "/api/v1/inspectors/nobody/conflicts", nil), 404)
	rec = a.call("DELETE", path+"/conflicts/"+url.PathEscape(obj), nil)
	if rec.Code != 204 {
		t.Errorf("withdraw: %d %s", rec.Code, rec.Body)
	}
	a.problem(a.call("DELETE", path+"/conflicts/"+url.PathEscape(obj), nil), 404)

	var h Page[library.Change]
	a.ok(a.call("GET", path+"/history", nil), 200, &h)
	var entities []string
	for _, c := range h.Items {
		entities = append(entities, c.Entity+":"+c.Action)
	}
	if want := []string{"inspectors:create", "inspectors:update", "inspectors:update", "inspectors:update",
		"inspector_conflicts:create", "inspector_conflicts:delete"}; !slices.Equal(entities, want) {
		t.Errorf("history %v, want %v", entities, want)
	}
}

func TestCheckItemsAPI(t *testing.T) {
	a := newLibraryClient(t)
	code := uniqueKey("ZR")
	tag := uniqueKey("t")
	item := map[string]any{"code": code, "name": "矿产资源开发利用情况检查", "object_kind": "enterprise", "object_tags": []string{tag},
		"methods": []string{"实地检查"}, "class": "重点", "default_ratio": "0.1", "inspectors_required": 3,
		"required_tags": []string{"矿产"}, "legal_basis": "《矿产资源法》", "effective_from": "2025-01-01"}
	rec := a.call("POST", "/api/v1/check-items", item)
	var c library.CheckItem
	a.ok(rec, 201, &c)
	if c.Version != 1 || c.Class != "key" || c.Published || rec.Header().Get("ETag") != `"1"` ||
		rec.Header().Get("Location") != "/api/v1/check-items/"+code+"/versions/1" {
		t.Errorf("created %+v %v", c, rec.Header())
	}
	a.problem(a.call("POST", "/api/v1/check-items", item), 409)
	a.problem(a.call("POST", "/api/v1/check-items", map[string]any{"code": "a b", "methods": []string{}, "default_ratio": "-0.1",
		"inspectors_required": 1, "object_kind": "x", "class": "y"}), 400,
		"code", "name", "methods", "default_ratio", "inspectors_required", "object_kind", "class")

	itemPath := "/api/v1/check-items/" + code
	rec = a.call("GET", itemPath, nil)
	a.ok(rec, 200, &c)
	if c.Version != 1 || rec.Header().Get("ETag") != `"1"` {
		t.Errorf("get %+v", c)
	}
	a.problem(a.call("GET", "/api/v1/check-items/NO-SUCH", nil), 404)
	a.problem(a.call("GET", itemPath+"?on=2025-06-01", nil), 404) // nothing published yet
	a.problem(a.call("GET", itemPath+"?on=June", nil), 400, "on")

	a.ok(a.call("POST", itemPath+"/versions/1/publish", nil), 200, &c)
	if !c.Published {
		t.Errorf("publish %+v", c)
	}
	a.problem(a.call("POST", itemPath+"/versions/1/publish", nil), 409)
	a.problem(a.call("POST", itemPath+"/versions/7/publish", nil), 404)
	a.problem(a.call("POST", itemPath+"/versions/first/publish", nil), 400, "version")

	// The next version; If-Match names the version edited.
	item2 := map[string]any{}
	for k, v := range item {
		item2[k] = v
	}
	delete(item2, "code")
	item2["default_ratio"] = "0.2"
	item2["effective_from"] = "2026-01-01"
	rec = a.call("POST", itemPath+"/versions", item2, "If-Match", `"1"`)
	a.ok(rec, 201, &c)
	if c.Version != 2 || c.DefaultRatio != "0.2" || rec.Header().Get("ETag") != `"2"` {
		t.Errorf("version 2 %+v", c)
	}
	a.problem(a.call("POST", itemPath+"/versions", item2, "If-Match", `"1"`), 412)
	item2["effective_from"] = "2024-01-01"
	a.problem(a.call("POST", itemPath+"/versions", item2), 400, "effective_from")
	a.problem(a.call("POST", "/api/v1/check-items/NO-SUCH/versions", item2), 404)

	var v1 library.CheckItem
	a.ok(a.call("GET", itemPath+"/versions/1", nil), 200, &v1)
	if v1.DefaultRatio != "0.1" || !v1.Published {
		t.Errorf("version 1 changed: %+v", v1)
	}
	a.ok(a.call("POST", itemPath+"/versions/2/publish", nil), 200, nil)
	a.ok(a.call("GET", itemPath+"?on=2025-12-31", nil), 200, &c)
	if c.Version != 1 {
		t.Errorf("in force 2025-12-31: %d", c.Version)
	}
	a.ok(a.call("GET", itemPath+"?on=2026-01-01", nil), 200, &c)
	if c.Version != 2 {
		t.Errorf("in force 2026-01-01: %d", c.Version)
	}
	a.ok(a.call("POST", itemPath+"/versions/2/unpublish", nil), 200, &c)
	if c.Published {
		t.Errorf("unpublish %+v", c)
	}
	a.problem(a.call("POST", itemPath+"/versions/2/unpublish", nil), 409)

	var versions Page[library.CheckItem]
	a.ok(a.call("GET", itemPath+"/versions?limit=1", nil), 200, &versions)
	if len(versions.Items) != 1 || versions.NextCursor == "" {
		t.Fatalf("versions page 1 %+v", versions)
	}
	cursor := versions.NextCursor
	versions = Page[library.CheckItem]{}
	a.ok(a.call("GET", itemPath+"/versions?limit=1&cursor="+cursor, nil), 200, &versions)
	if len(versions.Items) != 1 || versions.Items[0].Version != 2 || versions.NextCursor != "" {
		t.Errorf("versions page 2 %+v", versions)
	}

	var list Page[library.CheckItem]
	a.ok(a.call("GET", "/api/v1/check-items?q="+code+"&kind=enterprise&class=key", nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Version != 2 {
		t.Errorf("list %+v", list)
	}
	a.ok(a.call("GET", "/api/v1/check-items?q="+code+"&on=2030-01-01&published=true", nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].Version != 1 {
		t.Errorf("list in force %+v", list)
	}
	a.problem(a.call("GET", "/api/v1/check-items?published=maybe", nil), 400, "published")
	a.problem(a.call("GET", "/api/v1/check-items?class=minor", nil), 400, "class")

	var h Page[library.Change]
	a.ok(a.call("GET", itemPath+"/history", nil), 200, &h)
	if len(h.Items) != 5 {
		t.Errorf("history: %d rows", len(h.Items))
	}

	// The object it applies to.
	key := uscc.Generate(libRng, "330402")
	a.ok(a.call("POST", "/api/v1/objects", map[string]any{"key": key, "kind": "enterprise", "name": "某矿业公司",
		"region_code": "330402", "tags": []string{tag, "其他"}}), 201, nil)
	var items Page[library.CheckItem]
	// Other tests' items may apply too; this test looks at its own.
	mine := func(p Page[library.CheckItem]) []library.CheckItem {
		return slices.DeleteFunc(p.Items, func(c library.CheckItem) bool { return c.Code != code })
	}
	a.ok(a.call("GET", objPath(key)+"/items", nil), 200, &items)
	if m := mine(items); len(m) != 1 || m[0].Version != 1 {
		t.Errorf("applicable %+v", items)
	}
	a.ok(a.call("GET", objPath(key)+"/items?on=2024-12-31", nil), 200, &items)
	if m := mine(items); len(m) != 0 {
		t.Errorf("applicable before the item took effect: %+v", m)
	}
	a.problem(a.call("GET", objPath("nobody")+"/items", nil), 404)
	a.problem(a.call("GET", objPath(key)+"/items?on=x", nil), 400, "on")
}

// TestBadInputNeverFailsTheServer throws malformed requests at every write
// route: each must be a 4xx problem.
func TestBadInputNeverFailsTheServer(t *testing.T) {
	a := newLibraryClient(t)
	key := uniqueKey("XM")
	a.ok(a.call("POST", "/api/v1/objects", map[string]any{"key": key, "kind": "project", "name": "x", "region_code": "330402"}), 201, nil)
	ik := uniqueKey("E")
	a.ok(a.call("POST", "/api/v1/inspectors", map[string]any{"key": ik, "name": "x", "region_code": "330402"}), 201, nil)
	bodies := []string{``, `null`, `[]`, `"x"`, `{`, `{"key": null}`, `{"key": 1}`, `{"tags": [1]}`, `{"tags": ["\u0000"]}`,
		`{"attributes": "x"}`, `{"attributes": {"\u0000": 1}}`, `{"max_load": -1}`, `{"max_load": 1e100}`,
		`{"key": "` + strings.Repeat("键", 1000) + `", "name": "` + strings.Repeat("名", 5000) + `"}`,
		`{"last_inspected_at": "0000-00-00"}`, `{"certificate_valid_until": "99999-01-01"}`, `{"effective_from": "2025-13-01"}`,
		`{"default_ratio": "0.` + strings.Repeat("1", 40) + `"}`, `{"methods": [null]}`, `{"region_code": "\ud800"}`,
		`{"object_key": "` + "\\t" + `", "reason": "x"}`, `{"status": "closed"} {}`}
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/objects"}, {"PUT", objPath(key)}, {"POST", objPath(key) + "/deactivate"},
		{"POST", "/api/v1/inspectors"}, {"PUT", "/api/v1/inspectors/" + ik}, {"POST", "/api/v1/inspectors/" + ik + "/deactivate"},
		{"POST", "/api/v1/inspectors/" + ik + "/conflicts"}, {"POST", "/api/v1/check-items"},
		{"POST", "/api/v1/check-items/X/versions"}, {"POST", "/api/v1/regions"}, {"POST", "/api/v1/departments"},
	}
	for _, r := range routes {
		for _, b := range bodies {
			rec := a.call(r.method, r.path, b, "If-Match", `"1"`)
			if rec.Code < 400 && !(strings.HasSuffix(r.path, "/deactivate") && rec.Code == 200) {
				t.Errorf("%s %s %.40q: %d %s", r.method, r.path, b, rec.Code, rec.Body)
			}
		}
	}
	for _, q := range []string{"limit=-1", "limit=x", "limit=501", "cursor=%ZZ", "q=%00", "tag=%09", "region=%00", "status=%C3%28"} {
		for _, p := range []string{"/api/v1/objects", "/api/v1/inspectors", "/api/v1/check-items", objPath(key) + "/history"} {
			if rec := a.call("GET", p+"?"+q, nil); rec.Code != 400 {
				t.Errorf("GET %s?%s: %d %s", p, q, rec.Code, rec.Body)
			}
		}
	}
}

// TestGeneralItemRatioCap: a general item (一般) whose default ratio is
// above the cap is refused with the field named, in Chinese when asked;
// a key item (重点) has no cap.
func TestGeneralItemRatioCap(t *testing.T) {
	a := newLibraryClient(t)
	item := map[string]any{"code": uniqueKey("ZR"), "name": "测试事项", "object_kind": "enterprise", "methods": []string{"on_site"},
		"class": "一般", "default_ratio": "0.9", "effective_from": "2025-01-01"}
	p := a.problem(a.call("POST", "/api/v1/check-items", item, "Accept-Language", "zh-CN"), 400, "default_ratio")
	var msgs []string
	for _, e := range p.Errors {
		msgs = append(msgs, e.Message)
	}
	if all := strings.Join(msgs, " | "); !strings.Contains(all, "超过一般检查事项的抽查比例上限 0.3") {
		t.Errorf("problems %s", all)
	}
	item["default_ratio"] = "0.3"
	a.ok(a.call("POST", "/api/v1/check-items", item), 201, nil)
	item["code"], item["class"], item["default_ratio"] = uniqueKey("ZR"), "重点检查事项", "0.9"
	a.ok(a.call("POST", "/api/v1/check-items", item), 201, nil)
}
