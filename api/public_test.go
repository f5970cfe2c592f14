package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/idempotency"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestPublicDisclosure(t *testing.T) {
	db := testenv.DB(t)
	f := newScopeFixture(t)
	db.MustExec(`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from, published, authority)
		SELECT code, 2, '范围测试事项（修订）', object_kind, methods, class, default_ratio, '2025-06-01', false, '嘉兴市自然资源和规划局' FROM check_items WHERE code = $1 AND version = 1`, f.item)
	db.MustExec(`INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ($1, 0, $2, 1)`, f.batch, f.item)
	db.MustExec(`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at)
		SELECT $1, $2, 1, code, 'on_site', false, 'inspector:x', now() FROM (VALUES ('no_problem')) v(code)`, f.batch, f.foreignObject)
	db.MustExec(`INSERT INTO publications (batch_id, object_key, published_at) VALUES ($1, $2, now())`, f.batch, f.foreignObject)
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry()})

	// Results: object, item, result in Chinese, no inspector.
	rec := do(h, "GET", "/public/results?batch="+f.batch, nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, f.foreignObject) || !strings.Contains(body, "秀洲测试企业") ||
		!strings.Contains(body, f.item+" 范围测试事项") || strings.Contains(body, f.foreignInspector) || strings.Contains(body, "inspector:x") {
		t.Fatalf("results: %d %s", rec.Code, body)
	}
	if !strings.Contains(body, `"result":"`) || strings.Contains(body, `"result":""`) {
		t.Errorf("result term missing: %s", body)
	}
	tag := rec.Header().Get("ETag")
	if tag == "" || !strings.Contains(rec.Header().Get("Cache-Control"), "max-age") {
		t.Errorf("caching headers: %v", rec.Header())
	}
	if rec := do(h, "GET", "/public/results?batch="+f.batch, map[string]string{"If-None-Match": tag}); rec.Code != 304 {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	rec = do(h, "GET", "/public/results?format=csv&q=秀洲测试&batch="+f.batch, nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Body.String(), "检查结果") ||
		!strings.Contains(rec.Body.String(), f.foreignObject) {
		t.Errorf("csv: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/public/results?q=nothing-like-this&batch="+f.batch, nil); rec.Code != 200 || strings.Contains(rec.Body.String(), f.foreignObject) {
		t.Errorf("q filter: %s", rec.Body)
	}
	// Items: only published versions.
	rec = do(h, "GET", "/public/check-items/"+f.item+"/versions", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":1`) || strings.Contains(rec.Body.String(), "修订") {
		t.Errorf("versions: %d %s", rec.Code, rec.Body)
	}
	found := false
	for cursor := "start"; cursor != "" && !found; {
		path := "/public/check-items?limit=100"
		if cursor != "start" {
			path += "&cursor=" + cursor
		}
		rec := do(h, "GET", path, nil)
		var page Page[PublicItem]
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			t.Fatalf("items: %d %s", rec.Code, rec.Body)
		}
		for _, it := range page.Items {
			found = found || (it.Code == f.item && it.Version == 1)
		}
		cursor = page.NextCursor
	}
	if !found {
		t.Errorf("item %s not listed", f.item)
	}
	// Bad input is a 4xx problem.
	for _, p := range []string{"/public/results?format=pdf", "/public/results?nope=1", "/public/check-items/NOPE-X/versions", "/public/results?cursor=!!"} {
		if rec := do(h, "GET", p, nil); rec.Code < 400 || rec.Code >= 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType) {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	// Batches: the commitment from creation, never the nonce before the draw.
	rec = do(h, "GET", "/public/batches/"+f.batch, nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"commitment":"`+strings.Repeat("a", 64)) ||
		!strings.Contains(rec.Body.String(), `"stage":"已公布承诺值"`) || strings.Contains(rec.Body.String(), "nonce") || rec.Header().Get("ETag") == "" {
		t.Errorf("batch: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/public/batches?limit=500", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"`+f.batch+`"`) {
		t.Errorf("batches: %d", rec.Code)
	}
	// The results' filters.
	// Each filter takes a code or a name (issue 14, 10).
	for q, want := range map[string]bool{"result=no_problem": true, "result=corrected": false, "item=" + f.item: true,
		"county=330411": true, "county=330402": false, "q=" + f.foreignObject: true,
		"county=秀洲区": true, "county=南湖区": false, "result=未发现问题": true} {
		rec := do(h, "GET", "/public/results?batch="+f.batch+"&"+q, nil)
		if got := strings.Contains(rec.Body.String(), f.foreignObject); rec.Code != 200 || got != want {
			t.Errorf("results ?%s: %d, listed %v, want %v", q, rec.Code, got, want)
		}
	}
	for _, p := range []string{"/public/results?year=1999", "/public/results?result=maybe", "/public/batches/NOPE"} {
		if rec := do(h, "GET", p, nil); rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	// A filter naming nothing is a 400 in Chinese, not an empty list.
	for _, p := range []string{"/public/results?county=火星县", "/public/results?item=NOPE", "/public/results?department=不存在的部门"} {
		rec := do(h, "GET", p, map[string]string{"Accept-Language": "zh-CN"})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "不是已知的") {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	// The drawn list of an undrawn batch is refused.
	if rec := do(h, "GET", "/public/batches/"+f.batch+"/drawn", nil); rec.Code != 409 {
		t.Errorf("undrawn: %d %s", rec.Code, rec.Body)
	}
}

func TestPublicRateLimitAndCORS(t *testing.T) {
	db := testenv.DB(t)
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}, PublicRateLimit: 1,
		CORSOrigins: []string{"https://gs.jiaxing.gov.cn"}})
	codes := map[int]int{}
	var last *http.Response
	for i := 0; i < 6; i++ {
		rec := do(h, "GET", "/public/check-items", nil)
		codes[rec.Code]++
		last = rec.Result()
	}
	if codes[200] != 3 || codes[429] != 3 || last.Header.Get("Retry-After") == "" {
		t.Errorf("burst of 3 then 429: %v %v", codes, last.Header)
	}
	// The API is not limited.
	if rec := do(h, "GET", "/api/v1/me", bearer("admin")); rec.Code != 200 {
		t.Errorf("me: %d", rec.Code)
	}
	rec := do(h, "OPTIONS", "/api/v1/batches", map[string]string{"Origin": "https://gs.jiaxing.gov.cn", "Access-Control-Request-Method": "POST"})
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://gs.jiaxing.gov.cn" {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "GET", "/api/v1/me", map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer admin"}); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed")
	}
	off := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	if rec := do(off, "GET", "/healthz", map[string]string{"Origin": "https://gs.jiaxing.gov.cn"}); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS without configuration")
	}
}

func TestIdempotencyKey(t *testing.T) {
	db := testenv.DB(t)
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}, Temporal: testTemporal(t), TaskQueue: "api-idem-test"})
	key := testenv.UniqueID("idem")
	hdr := map[string]string{"Authorization": "Bearer coordinator", "Content-Type": "application/json", "Idempotency-Key": key}
	// A request the handler refuses (400) keeps no record: sent again, it
	// runs again.
	count := func() (n int) {
		if err := db.Get(&n, `SELECT count(*) FROM idempotency_keys WHERE key LIKE $1 || '%'`, key); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := doBody(h, "POST", "/api/v1/batches", `{"id":"x"}`, hdr)
	again := doBody(h, "POST", "/api/v1/batches", `{"id":"x"}`, hdr)
	if first.Code != 400 || again.Code != 400 || again.Header().Get("Idempotent-Replayed") != "" || count() != 0 {
		t.Errorf("refused: %d %d %s, %d records", first.Code, again.Code, again.Header(), count())
	}
	// Nor does a request refused for its role (403).
	if rec := doBody(h, "POST", "/api/v1/batches", `{"id":"x"}`, map[string]string{"Authorization": "Bearer auditor",
		"Content-Type": "application/json", "Idempotency-Key": key}); rec.Code != 403 || count() != 0 {
		t.Errorf("forbidden: %d, %d records", rec.Code, count())
	}
	// A kept success is replayed; another request with its key is 422.
	if _, err := db.Exec(`INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status, content_type, response)
		VALUES ('coordinator:test', $1, 'POST', '/api/v1/batches', sha256('x'), 201, 'application/json', '{}')`, key); err != nil {
		t.Fatal(err)
	}
	// Keys belong to the caller.
	other := map[string]string{"Authorization": "Bearer admin", "Content-Type": "application/json", "Idempotency-Key": key}
	if rec := doBody(h, "POST", "/api/v1/batches", `{"id":"y"}`, other); rec.Code != 400 || rec.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("another caller: %d", rec.Code)
	}
	// Expired records are swept, live ones kept.
	if _, err := db.Exec(`INSERT INTO idempotency_keys (principal, key, method, path, request_hash, created_at)
		VALUES ('coordinator:test', $1, 'POST', '/api/v1/batches', sha256('x'), now() - interval '25 hours')`, key+"-old"); err != nil {
		t.Fatal(err)
	}
	if n, err := idempotency.NewStore(db).Sweep(context.Background()); err != nil || n < 1 || count() != 1 {
		t.Errorf("sweep: %d, %v; %d records left", n, err, count())
	}
	// Oversized bodies are 413 with a key too.
	if rec := doBody(h, "POST", "/api/v1/batches", strings.Repeat(" ", 2<<20), map[string]string{"Authorization": "Bearer coordinator",
		"Content-Type": "application/json", "Idempotency-Key": key + "-big"}); rec.Code != 413 {
		t.Errorf("big: %d", rec.Code)
	}
}
