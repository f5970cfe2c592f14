package plan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func day(s string) workday.Date {
	d, err := workday.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture stores a published item and returns a valid plan of 2026 with
// two batches, for a service whose clock is 2026-11-27.
func fixture(t *testing.T) (*Service, Spec) {
	t.Helper()
	db := testenv.DB(t)
	var b [4]byte
	rand.Read(b[:])
	sfx := strings.ToUpper(hex.EncodeToString(b[:]))
	item := "ZR-" + sfx
	mustExec(t, db, `INSERT INTO check_items (code, version, name, object_kind, object_tags, methods, class, default_ratio, effective_from, published)
		VALUES ($1, 1, '测试事项', 'enterprise', ARRAY[$1], '{on_site}', 'general', '0.1', '2026-01-01', true)`, item)
	dept := "D" + sfx
	mustExec(t, db, `INSERT INTO departments (code, name) VALUES ($1, '测试处' || $1)`, dept)
	s := NewService(db)
	s.now = func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, china) }
	return s, Spec{
		ID: "P" + sfx, Year: 2026, Name: "测试处 2026 年度抽查计划", DepartmentCode: dept,
		Rules: batch.Rules{Items: []batch.ItemRef{{Code: item, Version: 1}}, StrataKeys: []string{"risk"},
			Quotas: []batch.QuotaRule{{When: map[string]string{"risk": "high"}, Ratio: "0.3"}, {Ratio: "0.02"}}},
		Batches:         []PlannedBatch{{DrawAt: "2026-12-15"}, {DrawAt: "2026-12-01T10:00:00+08:00"}},
		InspectionStart: day("2026-12-01"), InspectionEnd: day("2026-12-31"),
	}
}

func mustExec(t *testing.T, db *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func problems(t *testing.T, err error) string {
	t.Helper()
	e, ok := fault.As(err)
	if !ok {
		t.Fatalf("not a fault: %v", err)
	}
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, p := range e.Problems {
		b.WriteString("|" + p.Field + ": " + p.Message)
	}
	return b.String()
}

func TestPlanLifecycle(t *testing.T) {
	ctx := context.Background()
	s, sp := fixture(t)
	p, err := s.Create(ctx, sp, "department_officer:test")
	if err != nil {
		t.Fatal(problems(t, err))
	}
	if p.State != Draft || len(p.Batches) != 2 || p.Batches[0].Seq != 1 || p.Batches[0].DrawAt != "2026-12-01T10:00:00+08:00" ||
		p.Batches[1].DrawAt != "2026-12-15T09:00:00+08:00" || p.Batches[1].Name == "" {
		t.Fatalf("created %+v", p.Batches)
	}
	if _, err := s.MarkStarted(ctx, p.ID); err == nil || !strings.Contains(err.Error(), "only an approved") {
		t.Errorf("start a draft: %v", err)
	}
	if _, err := s.Transition(ctx, p.ID, Approve, "coordinator:test", 0); err == nil || !strings.Contains(err.Error(), "needs a submitted plan") {
		t.Errorf("approve a draft: %v", err)
	}
	if _, err := s.Transition(ctx, p.ID, Submit, "department_officer:test", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, sp, 0); err == nil || !strings.Contains(err.Error(), "only a draft") {
		t.Errorf("update a submitted plan: %v", err)
	}
	p, err = s.Transition(ctx, p.ID, Approve, "coordinator:test", 0)
	if err != nil || p.State != Approved || p.ApprovedBy != "coordinator:test" {
		t.Fatalf("approve: %v %+v", err, p)
	}
	again, err := s.Transition(ctx, p.ID, Approve, "coordinator:other", 0)
	if e, ok := fault.As(err); !ok || e.Kind != fault.Conflict || !strings.Contains(err.Error(), "already approved") {
		t.Errorf("approve twice: %v", err)
	}
	_ = again
	if got, _ := s.Get(ctx, p.ID); got.Version != p.Version || got.ApprovedBy != "coordinator:test" {
		t.Errorf("the second approval changed the plan: %+v", got)
	}
	if p, err = s.MarkStarted(ctx, p.ID); err != nil || p.StartedAt == nil {
		t.Fatalf("start: %v", err)
	}
	if p, err = s.Transition(ctx, p.ID, Publish, "coordinator:test", 0); err != nil || p.State != Published {
		t.Fatalf("publish: %v", err)
	}
	city, err := s.CityPlan(ctx, 2026, Published)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, q := range city.Departments {
		found = found || q.ID == p.ID
	}
	if !found || city.Totals.Batches < 2 {
		t.Errorf("city plan %+v", city.Totals)
	}
}

func TestBadPlansAreRefusedAndStoreNothing(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(*Spec)
		field string
		want  string
	}{
		{"ratio above 1", func(s *Spec) { s.Rules.Quotas[1].Ratio = "1.5" }, "rules.quotas[1].ratio", "above 1"},
		{"date in the past", func(s *Spec) { s.Batches[0].DrawAt = "2026-11-01" }, "batches[0].draw_at", "in the past"},
		{"date outside the year", func(s *Spec) { s.Batches[0].DrawAt = "2027-01-05" }, "batches[0].draw_at", "outside the plan's year"},
		{"period outside the year", func(s *Spec) { s.InspectionEnd = day("2027-02-01") }, "inspection_end", "outside the plan's year"},
		{"no owner", func(s *Spec) { s.DepartmentCode = "" }, "department_code", "either"},
		{"unknown item", func(s *Spec) { s.Rules.Items[0].Version = 99 }, "rules.items[0]", ""},
		{"bad date", func(s *Spec) { s.Batches[1].DrawAt = "tomorrow" }, "batches[1].draw_at", "neither a date"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, sp := fixture(t)
			c.edit(&sp)
			_, err := s.Create(ctx, sp, "test")
			e, ok := fault.As(err)
			if !ok || e.Kind != fault.Invalid {
				t.Fatalf("got %v", err)
			}
			msg := problems(t, err)
			if !strings.Contains(msg, c.field) || !strings.Contains(msg, c.want) {
				t.Errorf("problems %s, want %s: %s", msg, c.field, c.want)
			}
			if _, err := s.Get(ctx, sp.ID); err == nil {
				t.Error("a refused plan was stored")
			}
		})
	}
}
