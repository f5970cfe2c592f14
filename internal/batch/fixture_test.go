package batch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A fixture is a test's own corner of the package database: its item
// codes, tags and keys carry a suffix no other test uses.
type fixture struct {
	t   *testing.T
	db  *sqlx.DB
	s   *Service
	sfx string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	var b [4]byte
	rand.Read(b[:])
	return &fixture{t: t, db: db, s: NewService(db), sfx: strings.ToUpper(hex.EncodeToString(b[:]))}
}

// id returns a name unique to the fixture.
func (f *fixture) id(name string) string { return name + "-" + f.sfx }

// item stores a published item version whose objects carry the tag
// f.id(code), and returns its code.
func (f *fixture) item(code string, version int, class, ratio string) string {
	f.t.Helper()
	return f.itemKind(code, version, "enterprise", class, ratio, true)
}

func (f *fixture) itemKind(code string, version int, kind, class, ratio string, published bool) string {
	f.t.Helper()
	code = f.id(code)
	f.exec(`INSERT INTO check_items (code, version, name, object_kind, object_tags, methods, class, default_ratio, effective_from, published)
		VALUES ($1, $2, '测试事项', $3, $4, '{on_site}', $5, $6, '2026-01-01', $7)`,
		code, version, kind, pq.Array([]string{code}), class, ratio, published)
	return code
}

type obj struct {
	key, region, risk, credit string
	tags                      []string
	inspectedDaysAgo          int // 0: never
	kind, status              string
}

// objects stores objects, each carrying the tags of the items given.
func (f *fixture) objects(objs []obj, itemCodes ...string) {
	f.t.Helper()
	var keys, regions, risks, credits, tags, kinds, statuses []string
	var ago []int64
	for _, o := range objs {
		keys = append(keys, o.key)
		regions = append(regions, or(o.region, "330402"))
		risks = append(risks, or(o.risk, "normal"))
		credits = append(credits, or(o.credit, "B"))
		tags = append(tags, strings.Join(append(append([]string{}, itemCodes...), o.tags...), ","))
		ago = append(ago, int64(o.inspectedDaysAgo))
		kinds = append(kinds, or(o.kind, "enterprise"))
		statuses = append(statuses, or(o.status, "active"))
	}
	f.exec(`INSERT INTO objects (key, kind, name, region_code, risk_level, credit_class, tags, status, last_inspected_at)
		SELECT k, kd, '企业' || k, r, rk, c, string_to_array(t, ','), st,
			CASE WHEN a > 0 THEN (now() AT TIME ZONE 'Asia/Shanghai')::date - a::int END
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[])
			AS u (k, r, rk, c, t, a, kd, st)`,
		pq.Array(keys), pq.Array(regions), pq.Array(risks), pq.Array(credits), pq.Array(tags), pq.Array(ago),
		pq.Array(kinds), pq.Array(statuses))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// keys returns n object keys unique to the fixture.
func (f *fixture) keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%s%05d", prefix, f.sfx, i)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// wantFault checks that err is a fault of kind naming field (if not
// empty) with a message containing text.
func wantFault(t *testing.T, err error, kind fault.Kind, field, text string) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok {
		t.Fatalf("error %v (%T), want a fault", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("fault kind %d, want %d: %v", e.Kind, kind, err)
	}
	if field != "" {
		for _, p := range e.Problems {
			if p.Field == field && strings.Contains(p.Message, text) {
				return
			}
		}
		t.Fatalf("no problem of field %q saying %q in %v", field, text, err)
	}
	if !strings.Contains(e.Error(), text) {
		t.Fatalf("fault %q does not say %q", e.Error(), text)
	}
}

var ctx = context.Background()
