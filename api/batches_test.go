package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"sync"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"go.temporal.io/sdk/client"
)

// newBatchHandler serves the batch routes behind authentication by role
// tokens (see roleTokens).
func newBatchHandler(t *testing.T, db *sqlx.DB) http.Handler {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.UseRawPath = true
	r.Use(requestID())
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: roleTokens{}, Temporal: testTemporal(t), TaskQueue: "api-test"}, log: zap.NewNop()}
	s.batchRoutes(r.Group("/api/v1", s.authenticate()), r.Group("/public"))
	return checked(t, r)
}

// drawFixture stores a published item and n objects of it over four risk
// levels and two regions, and returns the item's code and a suffix unique
// to the test.
func drawFixture(t *testing.T, db *sqlx.DB, n int) (item, sfx string) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	sfx = strings.ToUpper(hex.EncodeToString(b[:]))
	item = "ZR-" + sfx
	var keys, risks, regions []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("91%s%05d", sfx, i))
		risks = append(risks, []string{"low", "normal", "raised", "high"}[i%4])
		regions = append(regions, []string{"330402", "330411"}[i/4%2])
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO check_items (code, version, name, object_kind, object_tags, methods, class, default_ratio, effective_from, published)
			VALUES ($1, 1, '测试事项', 'enterprise', ARRAY[$1], '{on_site}', 'general', '0.1', '2026-01-01', true)`, []any{item}},
		{`INSERT INTO objects (key, kind, name, region_code, risk_level, tags)
			SELECT k, 'enterprise', '企业' || k, g, r, ARRAY[$4] FROM unnest($1::text[], $2::text[], $3::text[]) AS u (k, r, g)`,
			[]any{pq.Array(keys), pq.Array(risks), pq.Array(regions), item}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	return item, sfx
}

func batchRequest(id, item string) map[string]any {
	return map[string]any{
		"id":             id,
		"name":           "2026年度第一批",
		"inspection_end": workday.DateOf(time.Now()).AddDays(90).String(),
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": item, "version": 1}},
			"strata_keys": []string{"risk", "region"},
			"quotas": []any{
				map[string]any{"when": map[string]any{"risk": "high"}, "ratio": "0.5"},
				map[string]any{"ratio": "0.25", "min": 1},
			},
		},
	}
}

func TestBatchAPI(t *testing.T) {
	db := testenv.DB(t)
	a := apiClient{t: t, h: newBatchHandler(t, db)}
	item, sfx := drawFixture(t, db, 64)
	id := "2026-" + sfx
	coordinator := []string{"Authorization", "Bearer coordinator"}

	// Create: 201 with the commitment; the same request again is the same
	// batch; another request under the ID is a conflict.
	var b batch.Batch
	rec := a.call("POST", "/api/v1/batches", batchRequest(id, item), coordinator...)
	a.ok(rec, http.StatusCreated, &b)
	if b.ID != id || b.State != batch.Committed || len(b.Commitment) != 64 || b.CreatedBy != "coordinator:test" ||
		rec.Header().Get("Location") != "/api/v1/batches/"+id || rec.Header().Get("ETag") == "" {
		t.Fatalf("created %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "nonce") {
		t.Fatalf("the nonce is mentioned before the draw: %s", rec.Body)
	}
	var again batch.Batch
	a.ok(a.call("POST", "/api/v1/batches", batchRequest(id, item), coordinator...), http.StatusCreated, &again)
	if again.Commitment != b.Commitment {
		t.Fatal("a repeated create made a new commitment")
	}
	// Creating the batch started its workflow, under the batch's business ID
	// (no worker polls "api-test", so it waits there).
	if _, err := testTemporal(t).DescribeWorkflowExecution(context.Background(), "batch/"+id, ""); err != nil {
		t.Errorf("the batch's workflow was not started: %v", err)
	}
	other := batchRequest(id, item)
	other["name"] = "另一批"
	a.problem(a.call("POST", "/api/v1/batches", other, coordinator...), http.StatusConflict)
	a.problem(a.call("POST", "/api/v1/batches", batchRequest(id+"-x", item), "Authorization", "Bearer county_officer/330402"), http.StatusForbidden)
	a.problem(a.call("POST", "/api/v1/batches", batchRequest(id+"-x", item)), http.StatusUnauthorized)

	// Reads.
	rec = a.call("GET", "/api/v1/batches/"+id, nil, coordinator...)
	a.ok(rec, http.StatusOK, &b)
	if rec := a.call("GET", "/api/v1/batches/"+id, nil, "Authorization", "Bearer auditor", "If-None-Match", rec.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	a.problem(a.call("GET", "/api/v1/batches/nope-"+sfx, nil, coordinator...), http.StatusNotFound)
	var page Page[batch.Batch]
	a.ok(a.call("GET", "/api/v1/batches?state=committed&limit=1", nil, coordinator...), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].State != batch.Committed {
		t.Fatalf("list %+v", page)
	}
	if page.NextCursor != "" {
		var next Page[batch.Batch]
		a.ok(a.call("GET", "/api/v1/batches?state=committed&limit=1&cursor="+page.NextCursor, nil, coordinator...), http.StatusOK, &next)
		if len(next.Items) == 1 && next.Items[0].ID == page.Items[0].ID {
			t.Fatal("the second page repeats the first")
		}
	}
	a.problem(a.call("GET", "/api/v1/batches?state=done", nil, coordinator...), http.StatusBadRequest, "state")
	a.problem(a.call("GET", "/api/v1/batches?colour=red", nil, coordinator...), http.StatusBadRequest, "colour")

	// Nothing is public before its step; the drawn list before the draw
	// is a conflict.
	a.problem(a.call("GET", "/public/batches/"+id+"/draw-proof", nil), http.StatusNotFound)
	a.problem(a.call("GET", "/public/batches/"+id+"/population.tsv", nil), http.StatusNotFound)
	a.problem(a.call("GET", "/api/v1/batches/"+id+"/objects", nil, coordinator...), http.StatusConflict)

	// The workflow freezes, draws and locks.
	svc := batch.NewService(db)
	ctx := context.Background()
	if _, err := svc.Freeze(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Draw(ctx, id, "witness-1|witness-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lock(ctx, id); err != nil {
		t.Fatal(err)
	}
	var drawn Page[batch.DrawnObject]
	a.ok(a.call("GET", "/api/v1/batches/"+id+"/objects?limit=500", nil, coordinator...), http.StatusOK, &drawn)
	// 8 strata of 8: high 4 of 8, others 2 of 8.
	if len(drawn.Items) != 2*4+6*2 || drawn.Items[0].Position != 1 || drawn.Items[0].CountyCode == "" || drawn.Items[0].Name == "" {
		t.Fatalf("drawn list %+v", drawn.Items)
	}
	var mine Page[batch.DrawnObject]
	a.ok(a.call("GET", "/api/v1/batches/"+id+"/objects", nil, "Authorization", "Bearer county_officer/330411"), http.StatusOK, &mine)
	for _, o := range mine.Items {
		if o.CountyCode != "330411" {
			t.Fatalf("a county officer sees %+v", o)
		}
	}
	if len(mine.Items) == 0 || len(mine.Items) == len(drawn.Items) {
		t.Fatalf("county officer sees %d of %d", len(mine.Items), len(drawn.Items))
	}
	a.problem(a.call("GET", "/api/v1/batches/"+id+"/objects?county=330402", nil, "Authorization", "Bearer county_officer/330411"), http.StatusForbidden)
	a.problem(a.call("GET", "/api/v1/batches/"+id+"/objects?county=nowhere", nil, coordinator...), http.StatusBadRequest, "county")
}

// Bad input is a 400 naming the field, and nothing is stored.
func TestBatchAPIBadInput(t *testing.T) {
	db := testenv.DB(t)
	a := apiClient{t: t, h: newBatchHandler(t, db)}
	item, sfx := drawFixture(t, db, 8)
	coordinator := []string{"Authorization", "Bearer coordinator"}
	cases := []struct {
		name  string
		edit  func(rules map[string]any, req map[string]any)
		field string
	}{
		{"ratio abc", func(r, _ map[string]any) { r["quotas"] = []any{map[string]any{"ratio": "abc"}} }, "rules.quotas[0].ratio"},
		{"ratio negative", func(r, _ map[string]any) {
			r["quotas"] = []any{map[string]any{"when": map[string]any{"risk": "low"}, "ratio": "0.1"}, map[string]any{"ratio": "-0.1"}}
		}, "rules.quotas[1].ratio"},
		{"ratio above one", func(r, _ map[string]any) { r["quotas"] = []any{map[string]any{"ratio": "1.5"}} }, "rules.quotas[0].ratio"},
		{"ratio as a number", func(r, _ map[string]any) { r["quotas"] = []any{map[string]any{"ratio": 0.5}} }, "rules.quotas.ratio"},
		{"unknown stratum key", func(r, _ map[string]any) { r["strata_keys"] = []string{"size"} }, "rules.strata_keys[0]"},
		{"unknown field", func(r, _ map[string]any) { r["colour"] = "red" }, "colour"},
		{"empty population", func(r, _ map[string]any) { r["filter"] = map[string]any{"regions": []string{"JXGQ"}} }, "rules.filter"},
		{"bad id", func(_, q map[string]any) { q["id"] = "a b" }, "id"},
		{"no inspection period", func(_, q map[string]any) { delete(q, "inspection_end") }, "inspection_end"},
		{"inspection period over", func(_, q map[string]any) { q["inspection_end"] = "2020-01-01" }, "inspection_end"},
		{"bad policy", func(_, q map[string]any) { q["policy"] = map[string]any{"result_entry_days": 0} }, "policy.result_entry_days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := apiClient{t: t, h: a.h}
			id := "BAD-" + sfx + "-" + strings.ReplaceAll(c.name, " ", "-")
			req := batchRequest(id, item)
			c.edit(req["rules"].(map[string]any), req)
			a.problem(a.call("POST", "/api/v1/batches", req, coordinator...), http.StatusBadRequest, c.field)
			a.problem(a.call("GET", "/api/v1/batches/"+id, nil, coordinator...), http.StatusNotFound)
		})
	}
	a.problem(a.call("POST", "/api/v1/batches", `{"id": "x"`, coordinator...), http.StatusBadRequest)
	a.problem(a.call("POST", "/api/v1/batches", strings.Repeat(" ", 2<<20), coordinator...), http.StatusRequestEntityTooLarge)
}

func TestDrawSimulationAPI(t *testing.T) {
	db := testenv.DB(t)
	a := apiClient{t: t, h: newBatchHandler(t, db)}
	item, _ := drawFixture(t, db, 40)
	var before int
	db.Get(&before, `SELECT count(*) FROM batches`)
	var sim batch.Simulation
	a.ok(a.call("POST", "/api/v1/draw-simulations", map[string]any{"rules": batchRequest("x", item)["rules"]}, "Authorization", "Bearer department_officer/ZFJ"),
		http.StatusOK, &sim)
	if sim.Population != 40 || len(sim.Strata) != 8 || sim.Quota != 2*3+6*2 {
		t.Fatalf("simulation %+v", sim)
	}
	if sim.Strata[0].Rule == nil || sim.Strata[0].Label != "item="+item+";risk=high;region=330402" {
		t.Fatalf("stratum %+v", sim.Strata[0])
	}
	var after int
	db.Get(&after, `SELECT count(*) FROM batches`)
	if after != before {
		t.Fatal("a simulation stored a batch")
	}
	a.problem(a.call("POST", "/api/v1/draw-simulations", map[string]any{"rules": map[string]any{
		"items": []any{map[string]any{"code": item, "version": 1}}, "quotas": []any{map[string]any{"ratio": "1.5"}},
	}}, "Authorization", "Bearer coordinator"), http.StatusBadRequest, "rules.quotas[0].ratio")
	a.problem(a.call("POST", "/api/v1/draw-simulations", map[string]any{"rules": map[string]any{}}, "Authorization", "Bearer inspector/JX-1"), http.StatusForbidden)
}

var (
	temporalOnce sync.Once
	temporalC    client.Client
)

// testTemporal is a client of the package's Temporal dev server.
func testTemporal(t testing.TB) client.Client {
	t.Helper()
	addr := testenv.TemporalAddress(t)
	temporalOnce.Do(func() {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: nopLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		temporalC = c
	})
	return temporalC
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
