package staffing

import (
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/match"
)

// The pool, the objects' requirements and every recusal rule, on the
// database: the stored proof records exactly the inputs the rules give,
// verifies, and the teams honour it.
func TestMatchCountyBuildsInputsFromTheLibraries(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR", tags: []string{"land"}})
	kc := f.item(itemSpec{code: "KC", k: 3, tags: []string{"survey"}, cross: true})
	land := []string{"land", "survey"}
	f.inspectors(
		inspSpec{key: "A", tags: land, unit: "S1"},
		inspSpec{key: "B", tags: land, unit: "S2"},
		inspSpec{key: "C", tags: land, unit: "S1"},
		inspSpec{key: "D", tags: land, unit: "S2"},
		inspSpec{key: "E", tags: land, unit: "S3"},
		inspSpec{key: "F", tags: land, region: f.town},                       // a street of the county: in the pool
		inspSpec{key: "G", tags: []string{"land"}, validUntil: "2026-06-30"}, // valid through the last day
		inspSpec{key: "X1", tags: land, validUntil: "2026-06-29"},            // expires before the end
		inspSpec{key: "X2", tags: land, validUntil: "-"},                     // no validity date
		inspSpec{key: "X3", tags: land, status: "on_leave"},
		inspSpec{key: "X4", tags: land, region: "330411"}, // another county
	)
	id := f.batch("b", []string{zr, kc}, []objSpec{
		{key: "O1", station: "S1", items: []string{zr}},
		{key: "O2", station: "S1"}, // both items: k 3, land and survey, cross-station
		{key: "O3", items: []string{zr}},
		{key: "O4", items: []string{kc}}, // cross-station, but no station
	})
	f.exec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '亲属关系')`, f.id("B"), f.id("O3"))
	f.task("old1", f.id("O3"), "closed", keysOf(f, "D", "E"), time.Hour)      // the latest previous inspection
	f.task("old2", f.id("O3"), "closed", keysOf(f, "F"), 48*time.Hour)        // an older one
	f.task("old3", f.id("O3"), "awaiting_match", []string{}, time.Minute)     // no team: not an inspection
	f.task("open", f.id("O9"), "assigned", keysOf(f, "A", "G"), time.Hour)    // open: load 1 each
	f.task("done", f.id("O8"), "closed", keysOf(f, "A", "B", "C"), time.Hour) // closed: no load

	res := f.mustMatch(id)

	p := f.proof(ProofQuery{BatchID: id, County: f.county})
	if p.Kind != KindMatch || p.BatchID != id || p.DepartmentCode != "" || p.Round != 1 || p.CountyCode != f.county || p.Beacon != "beacon-"+f.sfx {
		t.Fatalf("proof header %+v", p)
	}
	var drawSeed string
	if err := f.db.Get(&drawSeed, `SELECT seed FROM batches WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(drawSeed)
	ms := match.Seed([32]byte(seed), f.county, 1, "beacon-"+f.sfx)
	if p.DrawSeed != drawSeed || p.MatchSeed != hex.EncodeToString(ms[:]) || res.MatchSeed != p.MatchSeed || res.Round != 1 {
		t.Fatalf("seeds: proof %s %s, result %s", p.DrawSeed, p.MatchSeed, res.MatchSeed)
	}

	var pool []string
	loads := map[string]int{}
	for _, in := range p.Inspectors {
		pool = append(pool, in.InspectorKey)
		loads[in.InspectorKey] = in.InitialLoad
	}
	if want := keysOf(f, "A", "B", "C", "D", "E", "F", "G"); !slices.Equal(pool, want) {
		t.Fatalf("pool %v, want %v", pool, want)
	}
	if loads[f.id("A")] != 1 || loads[f.id("G")] != 1 || loads[f.id("B")] != 0 || loads[f.id("C")] != 0 {
		t.Errorf("initial loads %v", loads)
	}

	want := map[string]match.Object{
		f.id("O1"): {ObjectKey: f.id("O1"), K: 2, RequiredTags: []string{"land"}, Recused: []string{}},
		f.id("O2"): {ObjectKey: f.id("O2"), K: 3, RequiredTags: []string{"land", "survey"}, Recused: keysOf(f, "A", "C")},
		f.id("O3"): {ObjectKey: f.id("O3"), K: 2, RequiredTags: []string{"land"}, Recused: keysOf(f, "B", "D", "E")},
		f.id("O4"): {ObjectKey: f.id("O4"), K: 3, RequiredTags: []string{"survey"}, Recused: []string{}},
	}
	if len(p.Objects) != len(want) {
		t.Fatalf("%d objects in the proof", len(p.Objects))
	}
	for i, o := range p.Objects {
		if w := want[o.ObjectKey]; !reflect.DeepEqual(o, w) {
			t.Errorf("objects[%d] = %+v, want %+v", i, o, w)
		}
	}

	// The teams: the proof's, complete, and within the rules.
	if len(res.Teams) != 4 || len(p.Assignments) != 4 {
		t.Fatalf("teams %v", res.Teams)
	}
	for _, a := range p.Assignments {
		o := want[a.ObjectKey]
		if !slices.Equal(res.Teams[a.ObjectKey], a.Inspectors) || len(a.Inspectors) != o.K {
			t.Errorf("%s: team %v, proof %v, k %d", a.ObjectKey, res.Teams[a.ObjectKey], a.Inspectors, o.K)
		}
		for _, k := range a.Inspectors {
			if slices.Contains(o.Recused, k) || !slices.Contains(pool, k) {
				t.Errorf("%s: %s is recused or not in the pool", a.ObjectKey, k)
			}
			if k == f.id("G") && slices.Contains(o.RequiredTags, "survey") {
				t.Errorf("%s: G lacks the survey qualification", a.ObjectKey)
			}
		}
	}

	if n := f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1 AND round = 1 AND replaced_at IS NULL`, id); n != 10 {
		t.Errorf("%d assignments stored, want 10", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'match.create' AND entity = 'match' AND entity_id = $1
		AND actor = 'county_officer:test' AND payload->>'assignments' = '10'`, id+"/"+f.county); n != 1 {
		t.Errorf("%d audit entries", n)
	}
}

// A retried match returns the stored result; any other request after it is
// a conflict, and neither writes anything.
func TestMatchCountyIsFinal(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"}, inspSpec{key: "C"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}, {key: "O2"}})
	first := f.mustMatch(id)
	rows := f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id)
	audits := f.count(`SELECT count(*) FROM audit_log`)

	again := f.mustMatch(id)
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("retry gave %+v, first %+v", again, first)
	}
	_, err := f.s.MatchCounty(ctx, MatchInput{BatchID: id, County: f.county, Beacon: "another",
		InspectionEnd: inspectionEnd, By: "county_officer:test"})
	wantFault(t, err, fault.Conflict, "already matched")
	if f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id) != rows || f.count(`SELECT count(*) FROM audit_log`) != audits {
		t.Error("a repeated match wrote something")
	}

	// Concurrent retries of a new county's match: one match, one answer.
	id2 := f.batch("b2", []string{zr}, []objSpec{{key: "P1"}, {key: "P2"}, {key: "P3"}})
	var wg sync.WaitGroup
	results := make([]MatchResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.match(id2)
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || !reflect.DeepEqual(results[i], results[0]) {
			t.Fatalf("concurrent match %d: %+v, %v; first %+v", i, results[i], errs[i], results[0])
		}
	}
	if n := f.count(`SELECT count(*) FROM matches WHERE batch_id = $1`, id2); n != 1 {
		t.Errorf("%d proofs stored", n)
	}
}

// An infeasible match lists every object that cannot be staffed, with its
// counts, and leaves the database as it was.
func TestInfeasibleMatchChangesNothing(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR", tags: []string{"land"}})
	mining := f.item(itemSpec{code: "KS", tags: []string{"mining-" + f.sfx}})
	land := []string{"land"}
	f.inspectors(
		inspSpec{key: "A", tags: land, maxLoad: 1}, inspSpec{key: "B", tags: land, maxLoad: 1}, inspSpec{key: "C", tags: land, maxLoad: 1},
		inspSpec{key: "M", tags: []string{"mining-" + f.sfx}},
	)
	// A already has an open task: at its cap.
	f.task("open", f.id("Z9"), "inspected", keysOf(f, "A"), time.Hour)
	id := f.batch("b", []string{zr, mining}, []objSpec{
		{key: "O1", items: []string{zr}},     // takes B and C (A is full)
		{key: "O2", items: []string{zr}},     // then nobody is left
		{key: "O3", items: []string{mining}}, // one qualified inspector, two needed
		{key: "O4", items: []string{mining}},
	})
	tables := []string{"matches", "match_assignments", "audit_log", "tasks", "inspectors"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = f.count(`SELECT count(*) FROM ` + tb)
	}

	_, err := f.match(id)
	e := wantFault(t, err, fault.Conflict, "cannot be staffed")
	got, ok := e.Details.([]Unstaffed)
	if !ok {
		t.Fatalf("details %T", e.Details)
	}
	// Processing order: the fewest eligible first (O3, O4 in hv order),
	// then O1/O2 in hv order: one of them staffed, the other not.
	byKey := map[string]Unstaffed{}
	for _, u := range got {
		byKey[u.ObjectKey] = u
	}
	if len(got) != 3 || byKey[f.id("O3")] != (Unstaffed{f.id("O3"), "", 1, 1}) || byKey[f.id("O4")] != (Unstaffed{f.id("O4"), "", 1, 1}) {
		t.Fatalf("unstaffed %+v", got)
	}
	zrLeft := byKey[f.id("O1")]
	if zrLeft.ObjectKey == "" {
		zrLeft = byKey[f.id("O2")]
	}
	if zrLeft.Eligible != 3 || zrLeft.Available != 0 { // A (full), B and C (taken by the other)
		t.Errorf("unstaffed general object %+v", zrLeft)
	}
	for _, tb := range tables {
		if n := f.count(`SELECT count(*) FROM ` + tb); n != before[tb] {
			t.Errorf("%s: %d rows, %d before", tb, n, before[tb])
		}
	}

	// Fixing the pool makes the same request succeed.
	f.inspectors(inspSpec{key: "N", tags: []string{"mining-" + f.sfx}}, inspSpec{key: "P", tags: []string{"mining-" + f.sfx}},
		inspSpec{key: "Q", tags: land}, inspSpec{key: "R", tags: land})
	res := f.mustMatch(id)
	if len(res.Teams) != 4 {
		t.Fatalf("teams %v", res.Teams)
	}
	f.proof(ProofQuery{BatchID: id, County: f.county})
}

func TestMatchCountyRefusals(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}})

	_, err := f.s.MatchCounty(ctx, MatchInput{BatchID: id, County: f.county, Beacon: "a\tb"})
	e := wantFault(t, err, fault.Invalid, "incomplete")
	if len(e.Problems) != 2 || e.Problems[0].Field != "beacon" || e.Problems[1].Field != "inspection_end" {
		t.Errorf("problems %+v", e.Problems)
	}
	_, err = f.s.MatchCounty(ctx, MatchInput{BatchID: "nope-" + f.sfx, County: f.county, InspectionEnd: inspectionEnd})
	wantFault(t, err, fault.NotFound, "no batch")
	_, err = f.s.MatchCounty(ctx, MatchInput{BatchID: id, County: "330411", InspectionEnd: inspectionEnd})
	wantFault(t, err, fault.NotFound, "no drawn object assigned to county 330411")

	for _, state := range []string{"drawn", "archived"} {
		f.exec(`UPDATE batches SET state = $2 WHERE id = $1`, id, state)
		_, err = f.match(id)
		wantFault(t, err, fault.Conflict, "is "+state)
	}
	f.exec(`UPDATE batches SET state = 'in_progress' WHERE id = $1`, id)
	f.mustMatch(id)

	// A tag the algorithm cannot carry is the library's problem, named.
	id2 := f.batch("b2", []string{zr}, []objSpec{{key: "O2"}})
	f.exec(`UPDATE inspectors SET tags = ARRAY['bad' || chr(9) || 'tag'] WHERE key = $1`, f.id("B"))
	_, err = f.match(id2)
	wantFault(t, err, fault.Conflict, "inspector "+f.id("B")+".tags[0]")
	if n := f.count(`SELECT count(*) FROM matches WHERE batch_id = $1`, id2); n != 0 {
		t.Errorf("%d proofs", n)
	}
}

// In a joint batch each department matches its own inspectors onto the
// same visit, with a proof of its own; the team is the concatenation.
func TestJointBatchMatchesEachDepartment(t *testing.T) {
	f := newFixture(t)
	da, db := f.department("A"), f.department("B")
	ia := f.item(itemSpec{code: "IA", department: da, joint: []string{db}}) // the joint item
	ib := f.item(itemSpec{code: "IB", department: db, k: 3})
	ic := f.item(itemSpec{code: "IC", department: da, tags: []string{"land"}})
	f.inspectors(
		inspSpec{key: "A1", department: da, tags: []string{"land"}}, inspSpec{key: "A2", department: da, tags: []string{"land"}},
		inspSpec{key: "A3", department: da, tags: []string{"land"}},
		inspSpec{key: "B1", department: db}, inspSpec{key: "B2", department: db}, inspSpec{key: "B3", department: db},
		inspSpec{key: "B4", department: db, tags: []string{"land"}},
		inspSpec{key: "N1", tags: []string{"land"}}, // no department: in no joint pool
	)
	id := f.batch("joint", []string{ia, ib, ic}, []objSpec{
		{key: "O1", items: []string{ia, ib}}, // both departments: 2 of A then 3 of B
		{key: "O2", items: []string{ic}},     // A only
		{key: "O3", items: []string{ib}},     // B only
	})
	res := f.mustMatch(id)

	pa := f.proof(ProofQuery{BatchID: id, County: f.county, Department: &da})
	pb := f.proof(ProofQuery{BatchID: id, County: f.county, Department: &db})
	if pa.DepartmentCode != da || len(pa.Objects) != 2 || len(pa.Inspectors) != 3 || pb.DepartmentCode != db || len(pb.Objects) != 2 || len(pb.Inspectors) != 4 {
		t.Fatalf("proofs: A %d objects %d inspectors; B %d objects %d inspectors", len(pa.Objects), len(pa.Inspectors), len(pb.Objects), len(pb.Inspectors))
	}
	teamOf := func(p Proof, key string) []string {
		for _, a := range p.Assignments {
			if a.ObjectKey == key {
				return a.Inspectors
			}
		}
		return nil
	}
	o1 := append(slices.Clone(teamOf(pa, f.id("O1"))), teamOf(pb, f.id("O1"))...)
	if len(o1) != 5 || !slices.Equal(res.Teams[f.id("O1")], o1) {
		t.Errorf("joint team %v, want %v", res.Teams[f.id("O1")], o1)
	}
	if len(res.Teams[f.id("O2")]) != 2 || len(res.Teams[f.id("O3")]) != 3 {
		t.Errorf("teams %v", res.Teams)
	}
	for key, team := range res.Teams {
		if slices.Contains(team, f.id("N1")) {
			t.Errorf("%s: an inspector of no department in a joint batch", key)
		}
	}
	// Without a department the proof is ambiguous.
	_, err := f.s.FindProof(ctx, ProofQuery{BatchID: id, County: f.county})
	wantFault(t, err, fault.Invalid, "several departments")
	list, err := f.s.Proofs(ctx, id, f.county)
	if err != nil || len(list) != 2 || list[0].DepartmentCode != da || list[1].DepartmentCode != db {
		t.Fatalf("proofs %+v %v", list, err)
	}
	// A retry returns the joint teams in the same order.
	again := f.mustMatch(id)
	if !reflect.DeepEqual(again, res) {
		t.Errorf("retry %+v, first %+v", again, res)
	}

	// One department unable to staff: nothing stored for either.
	id2 := f.batch("joint2", []string{ia, ib}, []objSpec{{key: "Q1"}, {key: "Q2"}})
	// Items of two departments but none joint: one team from the whole
	// pool, whatever the inspectors' departments.
	id3 := f.batch("plain", []string{ib, ic}, []objSpec{{key: "R1"}})
	res3 := f.mustMatch(id3)
	p3 := f.proof(ProofQuery{BatchID: id3, County: f.county})
	if p3.DepartmentCode != "" || len(p3.Inspectors) != 8 || len(res3.Teams[f.id("R1")]) != 3 || p3.Objects[0].RequiredTags[0] != "land" {
		t.Errorf("batch of two departments' items: proof %+v", p3)
	}

	f.exec(`UPDATE inspectors SET status = 'on_leave' WHERE key = ANY($1)`, pq.Array(keysOf(f, "B1", "B2")))
	_, err = f.match(id2)
	e := wantFault(t, err, fault.Conflict, "cannot be staffed")
	if u := e.Details.([]Unstaffed); len(u) != 2 || u[0].Department != db || u[0].Eligible != 2 {
		t.Errorf("unstaffed %+v", u)
	}
	if n := f.count(`SELECT count(*) FROM matches WHERE batch_id = $1`, id2); n != 0 {
		t.Errorf("%d proofs stored", n)
	}
}

// A stored proof whose outcome was altered does not verify.
func TestTamperedProofFails(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"}, inspSpec{key: "C"}, inspSpec{key: "D"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}, {key: "O2"}})
	f.mustMatch(id)
	p := f.proof(ProofQuery{BatchID: id, County: f.county})

	team := p.Assignments[0].Inspectors
	for _, k := range keysOf(f, "A", "B", "C", "D") {
		if !slices.Contains(team, k) {
			team[1] = k
			break
		}
	}
	var mm *match.MismatchError
	if err := Verify(p); !errors.As(err, &mm) || mm.Field != "assignments[0].inspectors[1]" {
		t.Fatalf("tampered team: %v", err)
	}
	p = f.proof(ProofQuery{BatchID: id, County: f.county})
	p.Inspectors[0].InitialLoad++
	if err := Verify(p); !errors.As(err, &mm) || mm.Field != "pool_hash" {
		t.Fatalf("tampered pool: %v", err)
	}
	p = f.proof(ProofQuery{BatchID: id, County: f.county})
	p.Kind = "other"
	var ie *match.InputError
	if err := Verify(p); !errors.As(err, &ie) || ie.Field != "kind" {
		t.Fatalf("unknown kind: %v", err)
	}
}
