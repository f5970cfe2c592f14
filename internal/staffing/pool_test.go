package staffing

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// The pool preview shows what the match then uses: the pool, each object's
// recusals with their reasons, the eligible and available inspectors; the
// match's proof carries the same recusals and the teams come from the
// available ones.
func TestPreviewIsWhatTheMatchUses(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR", tags: []string{"land"}})
	kc := f.item(itemSpec{code: "KC", k: 3, tags: []string{"survey"}, cross: true})
	land := []string{"land", "survey"}
	f.inspectors(
		inspSpec{key: "A", tags: land, unit: "S1"},
		inspSpec{key: "B", tags: land, unit: "S2"},
		inspSpec{key: "C", tags: land, unit: "S1"},
		inspSpec{key: "D", tags: land, unit: "S2"},
		inspSpec{key: "E", tags: land, unit: "S3", maxLoad: 1},
		inspSpec{key: "G", tags: []string{"land"}},
		inspSpec{key: "X1", tags: land, validUntil: "2026-06-29"}, // expires before the end: not in the pool
	)
	id := f.batch("b", []string{zr, kc}, []objSpec{
		{key: "O1", station: "S1", items: []string{zr}},
		{key: "O2", station: "S1"}, // both items: k 3, cross-station
		{key: "O3", items: []string{zr}},
	})
	f.exec(`UPDATE batches SET inspection_end = $2 WHERE id = $1`, id, inspectionEnd.String())
	f.exec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '亲属关系')`, f.id("B"), f.id("O3"))
	f.task("old1", f.id("O3"), "closed", keysOf(f, "D", "B"), time.Hour)
	f.task("open", f.id("O9"), "assigned", keysOf(f, "E"), time.Hour) // E at its cap

	pv, err := f.s.Preview(ctx, id, f.county)
	if err != nil {
		t.Fatal(err)
	}
	var pool []string
	for _, in := range pv.Pool {
		pool = append(pool, in.Key)
	}
	if !slices.Equal(pool, keysOf(f, "A", "B", "C", "D", "E", "G")) || pv.Matched || pv.InspectionEnd != inspectionEnd {
		t.Fatalf("pool %v, matched %v, end %s", pool, pv.Matched, pv.InspectionEnd)
	}
	if len(pv.Objects) != 3 || pv.Objects[0].ObjectKey != f.id("O1") || pv.Objects[2].ObjectKey != f.id("O3") {
		t.Fatalf("objects %+v", pv.Objects)
	}
	o2, o3 := pv.Objects[1], pv.Objects[2]
	wantO2 := []Recusal{{f.id("A"), []string{RecusedStation}}, {f.id("C"), []string{RecusedStation}}}
	if o2.K != 3 || !reflect.DeepEqual(o2.Recused, wantO2) || !slices.Equal(o2.Eligible, keysOf(f, "B", "D", "E")) || !slices.Equal(o2.Available, keysOf(f, "B", "D")) {
		t.Errorf("O2: %+v", o2)
	}
	wantO3 := []Recusal{{f.id("B"), []string{RecusedConflict, RecusedPrevious}}, {f.id("D"), []string{RecusedPrevious}}}
	if !reflect.DeepEqual(o3.Recused, wantO3) || !slices.Equal(o3.Eligible, keysOf(f, "A", "C", "E", "G")) {
		t.Errorf("O3: %+v", o3)
	}
	// O2 needs 3 and has 2 available: the match is refused, as foretold.
	if pv.Unstaffed != 1 {
		t.Errorf("unstaffed %d", pv.Unstaffed)
	}
	_, err = f.match(id)
	wantFault(t, err, fault.Conflict, "cannot be staffed")

	// With one more surveyor the match runs; its proof has the preview's
	// recusals and its teams are drawn from the available inspectors.
	f.inspectors(inspSpec{key: "H", tags: land, unit: "S4"})
	if pv, err = f.s.Preview(ctx, id, f.county); err != nil || pv.Unstaffed != 0 {
		t.Fatalf("preview after H: %v %d", err, pv.Unstaffed)
	}
	f.mustMatch(id)
	p := f.proof(ProofQuery{BatchID: id, County: f.county})
	for i, o := range p.Objects {
		po := pv.Objects[slices.IndexFunc(pv.Objects, func(x PoolObject) bool { return x.ObjectKey == o.ObjectKey })]
		var keys []string
		for _, r := range po.Recused {
			keys = append(keys, r.InspectorKey)
		}
		if !slices.Equal(keys, o.Recused) && !(len(keys) == 0 && len(o.Recused) == 0) {
			t.Errorf("objects[%d] recused %v, preview %v", i, o.Recused, keys)
		}
	}
	for _, a := range p.Assignments {
		po := pv.Objects[slices.IndexFunc(pv.Objects, func(x PoolObject) bool { return x.ObjectKey == a.ObjectKey })]
		for _, k := range a.Inspectors {
			if !slices.Contains(po.Available, k) {
				t.Errorf("%s: %s assigned, not available in the preview %v", a.ObjectKey, k, po.Available)
			}
		}
	}
	if pv, err = f.s.Preview(ctx, id, f.county); err != nil || !pv.Matched {
		t.Errorf("preview after the match: %v matched %v", err, pv.Matched)
	}
	if _, err := f.s.Preview(ctx, id, "330411"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a county without objects: %v", err)
	}
}
