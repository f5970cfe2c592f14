package staffing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// inspectionEnd is the end of the fixtures' inspection period.
var inspectionEnd = workday.Date{Year: 2026, Month: 6, Day: 30}

// A fixture is a test's own corner of the package database: its keys and
// codes carry a suffix no other test uses.
type fixture struct {
	t   testing.TB
	db  *sqlx.DB
	s   *Service
	sfx string
	// county is a county of the fixture's own under 嘉兴市, so that its
	// pool holds only the fixture's inspectors; town is a street in it.
	county, town string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := testenv.DB(t)
	var b [4]byte
	rand.Read(b[:])
	f := &fixture{t: t, db: db, s: NewService(db), sfx: strings.ToUpper(hex.EncodeToString(b[:]))}
	f.county, f.town = "C"+f.sfx, "T"+f.sfx
	f.exec(`INSERT INTO regions (code, name, parent_code) VALUES ($1, $2, '330400'), ($3, $4, $1)`,
		f.county, "测试县"+f.sfx, f.town, "测试街道"+f.sfx)
	return f
}

// id returns a name unique to the fixture.
func (f *fixture) id(name string) string { return name + "-" + f.sfx }

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

// itemSpec is an item version of a fixture batch.
type itemSpec struct {
	code       string // without the suffix
	k          int    // inspectors_required; 0 = 2
	tags       []string
	cross      bool
	department string // "" = none
	joint      []string
}

// item stores a published item version and returns its code.
func (f *fixture) item(it itemSpec) string {
	f.t.Helper()
	code := f.id(it.code)
	k := it.k
	if k == 0 {
		k = 2
	}
	var dept any
	if it.department != "" {
		dept = it.department
	}
	f.exec(`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from, published,
		inspectors_required, required_tags, cross_station, department_code, joint_departments)
		VALUES ($1, 1, '测试事项', 'enterprise', '{on_site}', 'general', '0.1', '2026-01-01', true, $2, $3, $4, $5, $6)`,
		code, k, pq.Array(nonNil(it.tags)), it.cross, dept, pq.Array(nonNil(it.joint)))
	return code
}

// department stores a department and returns its code.
func (f *fixture) department(name string) string {
	f.t.Helper()
	code := "D" + name + f.sfx
	f.exec(`INSERT INTO departments (code, name) VALUES ($1, $2)`, code, "处室"+code)
	return code
}

// objSpec is a drawn object of a fixture batch.
type objSpec struct {
	key     string // without the suffix
	county  string // "" = the fixture's county
	station string
	items   []string // item codes (with suffix); nil = every item of the batch
}

// batch stores a locked batch with the given items and drawn objects, and
// returns its ID. Objects are created in the directory unless they exist.
func (f *fixture) batch(name string, items []string, objs []objSpec) string {
	f.t.Helper()
	id := f.id(name)
	var seed [32]byte
	rand.Read(seed[:])
	f.exec(`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, population_hash, strata, frozen_at,
			beacon, seed, proof, drawn_at, locked_at, created_by)
		VALUES ($1, 'locked', '{}', 'test', repeat('a', 64), now(), repeat('b', 64), '[]', now(), '', $2, '{}', now(), now(), 'test')`,
		id, hex.EncodeToString(seed[:]))
	for i, code := range items {
		f.exec(`INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ($1, $2, $3, 1)`, id, i, code)
	}
	var keys, counties, stations, itemLists []string
	for _, o := range objs {
		keys = append(keys, f.id(o.key))
		counties = append(counties, or(o.county, f.county))
		stations = append(stations, o.station)
		its := o.items
		if its == nil {
			its = items
		}
		itemLists = append(itemLists, strings.Join(its, ","))
	}
	f.exec(`INSERT INTO objects (key, kind, name, region_code, station)
		SELECT k, 'enterprise', '测试企业' || k, c, s FROM unnest($1::text[], $2::text[], $3::text[]) AS u (k, c, s)
		ON CONFLICT (key) DO NOTHING`, pq.Array(keys), pq.Array(counties), pq.Array(stations))
	f.exec(`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
		SELECT $1, n, k, 'item=x', string_to_array(i, ','), c, c
		FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u (k, c, i, n)`,
		id, pq.Array(keys), pq.Array(counties), pq.Array(itemLists))
	return id
}

// inspSpec is an inspector of the directory.
type inspSpec struct {
	key        string // without the suffix
	region     string // "" = the fixture's county
	tags       []string
	unit       string
	department string
	validUntil string // "" = 2027-12-31; "-" = NULL
	status     string // "" = active
	maxLoad    int    // 0 = 20
}

// inspectors stores inspectors and returns their keys, with suffix.
func (f *fixture) inspectors(specs ...inspSpec) []string {
	f.t.Helper()
	var keys []string
	for _, s := range specs {
		key := f.id(s.key)
		keys = append(keys, key)
		var valid, dept any = or(s.validUntil, "2027-12-31"), nil
		if s.validUntil == "-" {
			valid = nil
		}
		if s.department != "" {
			dept = s.department
		}
		maxLoad := s.maxLoad
		if maxLoad == 0 {
			maxLoad = 20
		}
		f.exec(`INSERT INTO inspectors (key, name, region_code, unit, certificate_valid_until, tags, status, max_load, department_code)
			VALUES ($1, $9, $2, $3, $4, $5, $6, $7, $8)`,
			key, or(s.region, f.county), s.unit, valid, pq.Array(nonNil(s.tags)), or(s.status, "active"), maxLoad, dept, "检查员"+key)
	}
	return keys
}

// task stores a task of another batch (by name, not created) on object
// key (with suffix) with team, in stage, last updated ago.
func (f *fixture) task(batch, key, stage string, team []string, ago time.Duration) {
	f.t.Helper()
	f.exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, updated_at)
		VALUES ($1, $2, $3, $4, $5, now() - $6 * interval '1 second')`,
		f.id(batch), key, f.county, stage, pq.Array(team), ago.Seconds())
}

func (f *fixture) match(batchID string) (MatchResult, error) {
	return f.s.MatchCounty(ctx, MatchInput{BatchID: batchID, County: f.county, Beacon: "beacon-" + f.sfx,
		InspectionEnd: inspectionEnd, By: "county_officer:test"})
}

func (f *fixture) mustMatch(batchID string) MatchResult {
	f.t.Helper()
	res, err := f.match(batchID)
	if err != nil {
		f.t.Fatalf("match %s: %v", batchID, err)
	}
	return res
}

// proof returns a stored proof, verified.
func (f *fixture) proof(q ProofQuery) Proof {
	f.t.Helper()
	p, err := f.s.FindProof(ctx, q)
	if err != nil {
		f.t.Fatalf("proof %+v: %v", q, err)
	}
	if err := Verify(p); err != nil {
		f.t.Fatalf("stored proof %+v does not verify: %v", q, err)
	}
	return p
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// wantFault checks that err is a fault of kind whose message contains text.
func wantFault(t testing.TB, err error, kind fault.Kind, text string) *fault.Error {
	t.Helper()
	e, ok := fault.As(err)
	if !ok {
		t.Fatalf("error %v (%T), want a fault", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("fault kind %d, want %d: %v", e.Kind, kind, err)
	}
	if !strings.Contains(e.Error(), text) {
		t.Fatalf("fault %q does not say %q", e.Error(), text)
	}
	return e
}

func keysOf(f *fixture, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = f.id(n)
	}
	return out
}
