package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/migrations"
	"github.com/spotcheck-gov/spotcheck/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// today is the portal's clock in every test.
var today = time.Date(2026, 12, 3, 9, 30, 0, 0, disclosure.China)

// published is when the fixture's results were published.
const published = "2026-11-20 10:00:00+08"

// system is spotcheck's API with the portal, on the package's database,
// holding one drawn, locked and published batch (its results published
// but one, its summary out), one batch that is only committed, a
// published plan of 2026 and an item with two published versions and an
// unpublished third.
type system struct {
	url         string
	db          *sqlx.DB
	batch       string // drawn, results published
	pending     string // committed only
	item        string
	drawn       []batch.DrawnObject
	published   []batch.DrawnObject // drawn and published
	unpublished batch.DrawnObject   // drawn, result entered, not published
	names       map[string]string   // object names by key
	handler     http.Handler        // the server's handler (console tests)
}

func newSystem(t *testing.T) *system {
	t.Helper()
	ctx := context.Background()
	// A database of its own: each test builds the same fixture.
	db, err := sqlx.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	s := &system{db: db, batch: "2026-ZR-W01", pending: "2026-ZR-W02", item: "ZR-W1", names: map[string]string{}}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO departments (code, name) VALUES ('GYC', '国土空间用途管制处')`)
	for _, v := range []struct {
		version        int
		basis, content string
		effective      string
		published      bool
	}{
		{1, "《土地复垦条例》第十七条", "复垦方案落实情况", "2025-01-01", true},
		{2, "《土地复垦条例》第十七条、第十八条", "复垦方案落实情况；复垦费用使用情况", "2026-06-01", true},
		{3, "未公布的依据", "未公布的内容", "2027-01-01", false},
	} {
		exec(`INSERT INTO check_items (code, version, name, sub_item, object_kind, methods, authority, legal_basis, content, class,
			default_ratio, department_code, effective_from, published)
			VALUES ($1, $2, '土地复垦义务履行情况检查', '', 'enterprise', '{on_site,written}', $3, $4, $5, 'general', '0.05', 'GYC', $6, $7)`,
			s.item, v.version, disclosure.Authority, v.basis, v.content, v.effective, v.published)
	}
	// Forty enterprises in two counties over four risk levels, with valid
	// credit codes (a fixed seed: the same on every run).
	r := rand.New(rand.NewPCG(16, 2026))
	var keys, risks, regions, names []string
	for i := range 40 {
		region := []string{"330402", "330411"}[i%2]
		k := uscc.Generate(r, region)
		keys, regions = append(keys, k), append(regions, region)
		risks = append(risks, []string{"low", "normal", "raised", "high"}[i%4])
		names = append(names, fmt.Sprintf("嘉兴市测试复垦企业%02d有限公司", i+1))
		s.names[k] = names[i]
	}
	exec(`INSERT INTO objects (key, kind, name, region_code, risk_level)
		SELECT k, 'enterprise', n, g, r FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u (k, n, g, r)`,
		pq.Array(keys), pq.Array(names), pq.Array(regions), pq.Array(risks))

	svc := batch.NewService(db)
	rules := batch.Rules{Items: []batch.ItemRef{{Code: s.item, Version: 2}}, StrataKeys: []string{"risk"},
		Quotas: []batch.QuotaRule{{When: map[string]string{"risk": "high"}, Ratio: "0.5"}, {Ratio: "0.25", Min: 1}}}
	for _, id := range []string{s.batch, s.pending} {
		if _, err := svc.Create(ctx, batch.CreateRequest{ID: id, Name: "2026年度土地复垦第" + id[len(id)-1:] + "批", Rules: rules, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Freeze(ctx, s.batch); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Draw(ctx, s.batch, "2026-11-02 见证人甲|见证人乙"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lock(ctx, s.batch); err != nil {
		t.Fatal(err)
	}
	drawn, _, err := svc.Drawn(ctx, s.batch, "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	s.drawn = drawn
	results := []string{"no_problem", "corrected", "pending_follow_up"}
	for i, d := range drawn {
		stage := "published"
		if i == len(drawn)-1 {
			stage = "approved"
		}
		// The lock wrote the task row; the object's workflow moves it on.
		exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, inspected_on, seq) VALUES ($1, $2, $3, $4, '{JX-INSPECTOR-SECRET}', '2026-11-10', 1)
			ON CONFLICT (batch_id, object_key) DO UPDATE SET stage = EXCLUDED.stage, inspectors = EXCLUDED.inspectors, inspected_on = EXCLUDED.inspected_on, seq = 1`,
			s.batch, d.ObjectKey, d.CountyCode, stage)
		exec(`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at, review, reviewed_by, reviewed_at)
			VALUES ($1, $2, 1, $3, 'on_site', $4, 'inspector:JX-INSPECTOR-SECRET', '2026-11-11 10:00+08', 'approved', 'county_officer:王科长', '2026-11-12 10:00+08')`,
			s.batch, d.ObjectKey, results[i%3], i%3 != 0)
		if stage == "published" {
			exec(`INSERT INTO publications (batch_id, object_key, published_at) VALUES ($1, $2, $3)`, s.batch, d.ObjectKey, published)
			s.published = append(s.published, d)
		} else {
			s.unpublished = d
		}
	}
	closer := &archive.Closer{DB: db, Now: func() time.Time { return today }}
	if err := closer.PublishSummary(ctx, s.batch); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO plans (id, year, name, department_code, county_code, state, rules, batches, inspection_start, inspection_end,
		joint_departments, created_by, approved_by, approved_at, published_at)
		VALUES ('GYC-2026', 2026, '国土空间用途管制处 2026 年度抽查工作计划', 'GYC', NULL, 'published',
		        jsonb_build_object('items', jsonb_build_array(jsonb_build_object('code', $1::text, 'version', 2))),
		        '[{"seq": 1, "name": "第一批", "draw_at": "2026-11-02T09:00:00+08:00"}]', '2026-11-02', '2026-12-31',
		        '{}', 'test', 'coordinator:test', '2026-01-10', '2026-01-15 10:00+08'),
		       ('XZ-2026', 2026, '秀洲区 2026 年度抽查工作计划', NULL, '330411', 'draft', '{}', '[]', '2026-03-01', '2026-12-31', '{}', 'test', NULL, NULL, NULL)`, s.item)

	portal := web.New(disclosure.New(db), zap.NewNop()).WithClock(func() time.Time { return today })
	srv := httptest.NewServer(apicontract.Wrap(t, api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Pages: portal})))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}
