package cases

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is a county with a town under it, an object registered in the town
// and inspectors of the county: one certified, one whose certificate ends
// early, one with a declared conflict, one of another county.
type world struct {
	svc                            *Service
	county, other, object          string
	good, second, expired, related string
	stranger                       string
}

func setup(t *testing.T) world {
	t.Helper()
	db := testenv.DB(t)
	sfx := strings.TrimPrefix(testenv.UniqueID(""), "-")
	w := world{
		svc:    NewService(db).WithClock(testenv.Clock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))),
		county: "C" + sfx, other: "O" + sfx, object: "OBJ" + sfx,
		good: "IG" + sfx, second: "IS" + sfx, expired: "IE" + sfx, related: "IR" + sfx, stranger: "IX" + sfx,
	}
	town := "T" + sfx
	exec(t, db, `INSERT INTO regions (code, name, parent_code) VALUES ($1, '测试县' || $1, '330400'), ($2, '他县' || $2, '330400')`, w.county, w.other)
	exec(t, db, `INSERT INTO regions (code, name, parent_code) VALUES ($1, '测试镇' || $1, $2)`, town, w.county)
	exec(t, db, `INSERT INTO objects (key, kind, name, region_code) VALUES ($1, 'enterprise', '测试企业', $2)`, w.object, town)
	exec(t, db, `INSERT INTO inspectors (key, name, region_code, certificate_valid_until) VALUES
		($1, '甲', $6, '2027-12-31'), ($2, '乙', $7, '2027-12-31'), ($3, '丙', $6, '2026-12-01'),
		($4, '丁', $6, '2027-12-31'), ($5, '戊', $8, '2027-12-31')`,
		w.good, w.second, w.expired, w.related, w.stranger, w.county, town, w.other)
	exec(t, db, `INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '亲属')`, w.related, w.object)
	return w
}

func exec(t *testing.T, db *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func (w world) newCase(id string) New {
	return New{ID: id, Source: "complaint", Summary: "群众投诉", ObjectKey: w.object,
		InspectionEnd: workday.Date{Year: 2026, Month: 12, Day: 31}, Policy: []byte(`{}`)}
}

func problemFields(t *testing.T, err error) string {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		t.Fatalf("want an invalid-input fault, got %v", err)
	}
	var fs []string
	for _, p := range e.Problems {
		fs = append(fs, p.Field)
	}
	return strings.Join(fs, ",")
}

// TestCaseGoesToTheCountyOfJurisdiction: an object of a town is the
// county's case; every problem of a request is reported at once, with
// those the caller found; another county's officer neither registers nor
// sees it.
func TestCaseGoesToTheCountyOfJurisdiction(t *testing.T) {
	ctx := context.Background()
	w := setup(t)
	bad := New{ID: "a b", Source: "rumour", ObjectKey: "nothing", ItemCodes: []string{"NO-SUCH"},
		Invalid: []fault.Problem{{Field: "policy.beacon_wait_minutes", Message: "too long"}}}
	if got := problemFields(t, errOf(w.svc.Create(ctx, bad, auth.Scope{}, "t"))); got != "policy.beacon_wait_minutes,id,source,summary,object_key,item_codes[0]" {
		t.Fatalf("problems %s", got)
	}
	id := testenv.UniqueID("K")
	if _, err := w.svc.Create(ctx, w.newCase(id), auth.Scope{County: w.other}, "t"); !isKind(err, fault.Forbidden) {
		t.Fatalf("another county registered the case: %v", err)
	}
	k, err := w.svc.Create(ctx, w.newCase(id), auth.Scope{County: w.county}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if k.County != w.county || k.BatchID != "case-"+id || k.State != "open" || k.Year != 2026 || k.SourceName != "投诉举报" {
		t.Fatalf("case %+v", k)
	}
	if _, err := w.svc.Create(ctx, w.newCase(id), auth.Scope{}, "t"); !isKind(err, fault.Conflict) {
		t.Fatalf("a second case %s: %v", id, err)
	}
	if _, err := w.svc.Visible(ctx, id, auth.Scope{County: w.other}); !isKind(err, fault.NotFound) {
		t.Fatalf("another county sees the case: %v", err)
	}
	if _, err := w.svc.List(ctx, 0, w.county, auth.Scope{County: w.other}); !isKind(err, fault.Forbidden) {
		t.Fatalf("another county lists the case: %v", err)
	}
	mine, err := w.svc.List(ctx, 2026, "", auth.Scope{County: w.county})
	if err != nil || len(mine) != 1 || mine[0].ID != id {
		t.Fatalf("the county's cases %v %v", mine, err)
	}
}

// TestAssignChecksTheTeam: a team needs two inspectors of the county with
// a certificate valid through the period and no declared conflict; the same
// team again is no change, another team a conflict.
func TestAssignChecksTheTeam(t *testing.T) {
	ctx := context.Background()
	w := setup(t)
	id := testenv.UniqueID("K")
	if _, err := w.svc.Create(ctx, w.newCase(id), auth.Scope{}, "t"); err != nil {
		t.Fatal(err)
	}
	officer := auth.Scope{County: w.county}
	if got := problemFields(t, errOf(w.svc.Assign(ctx, id, []string{w.good}, officer, "t"))); got != "inspectors" {
		t.Fatalf("a team of one: %s", got)
	}
	team := []string{w.good, w.expired, w.related, w.stranger, "nobody"}
	if got := problemFields(t, errOf(w.svc.Assign(ctx, id, team, officer, "t"))); got != "inspectors[1],inspectors[2],inspectors[3],inspectors[4]" {
		t.Fatalf("problems %s", got)
	}
	k, err := w.svc.Assign(ctx, id, []string{w.second, w.good}, officer, "t")
	if err != nil {
		t.Fatal(err)
	}
	if k.State != "assigned" || len(k.Team) != 2 || k.Version != 2 {
		t.Fatalf("assigned %+v", k)
	}
	if again, err := w.svc.Assign(ctx, id, []string{w.good, w.second}, officer, "t"); err != nil || again.Version != 2 {
		t.Fatalf("the same team again: %+v %v", again, err)
	}
	if _, err := w.svc.Assign(ctx, id, []string{w.good, w.related}, officer, "t"); !isKind(err, fault.Conflict) {
		t.Fatalf("another team: %v", err)
	}
	if _, err := w.svc.Visible(ctx, id, auth.Scope{InspectorKey: w.good}); err != nil {
		t.Fatalf("a member of the team does not see the case: %v", err)
	}
	if _, err := w.svc.Visible(ctx, id, auth.Scope{InspectorKey: w.related}); !isKind(err, fault.NotFound) {
		t.Fatalf("an inspector outside the team sees the case: %v", err)
	}
}

func errOf(_ Case, err error) error { return err }

func isKind(err error, k fault.Kind) bool {
	var e *fault.Error
	return errors.As(err, &e) && e.Kind == k
}
