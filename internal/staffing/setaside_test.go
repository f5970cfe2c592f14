package staffing

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// TestSetAsideUnblocksTheMatch: O3 needs two mining inspectors and the
// county has one, so the match is refused whole; set aside with a reason,
// the county matches the others, the proof (over the others) verifies and
// names the object set aside, and its task reads set_aside.
func TestSetAsideUnblocksTheMatch(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR", tags: []string{"land"}})
	mining := f.item(itemSpec{code: "KS", tags: []string{"mining-" + f.sfx}})
	land := []string{"land"}
	f.inspectors(inspSpec{key: "A", tags: land}, inspSpec{key: "B", tags: land}, inspSpec{key: "M", tags: []string{"mining-" + f.sfx}})
	id := f.batch("b", []string{zr, mining}, []objSpec{{key: "O1", items: []string{zr}}, {key: "O3", items: []string{mining}}})
	wantFault(t, func() error { _, err := f.match(id); return err }(), fault.Conflict, "cannot be staffed")

	in := SetAsideInput{BatchID: id, County: f.county, ObjectKey: f.id("O3"), Reason: "本县仅一名矿产资质人员", By: "county_officer:test"}
	for _, bad := range []struct {
		in   SetAsideInput
		kind fault.Kind
	}{
		{SetAsideInput{BatchID: id, County: f.county, ObjectKey: f.id("O3"), By: "x"}, fault.Invalid},
		{SetAsideInput{BatchID: id, County: "330411", ObjectKey: f.id("O3"), Reason: "r", By: "x"}, fault.NotFound},
		{SetAsideInput{BatchID: id, County: f.county, ObjectKey: "nope", Reason: "r", By: "x"}, fault.NotFound},
	} {
		if _, err := f.s.SetAside(ctx, bad.in); fault.KindOf(err) != bad.kind {
			t.Errorf("set aside %+v: %v, want kind %v", bad.in, err, bad.kind)
		}
	}
	for range 2 { // a repeat is the same record
		got, err := f.s.SetAside(ctx, in)
		if err != nil || got.ObjectKey != in.ObjectKey || got.Reason != in.Reason {
			t.Fatalf("set aside: %+v, %v", got, err)
		}
	}
	if _, err := f.s.SetAside(ctx, SetAsideInput{BatchID: id, County: f.county, ObjectKey: f.id("O3"), Reason: "another", By: "x"}); fault.KindOf(err) != fault.Conflict {
		t.Errorf("a second reason: %v", err)
	}

	res := f.mustMatch(id)
	if len(res.Teams) != 1 || res.Teams[f.id("O1")] == nil || len(res.SetAside) != 1 || res.SetAside[0] != f.id("O3") {
		t.Fatalf("match after the set-aside = %+v", res)
	}
	p := f.proof(ProofQuery{BatchID: id, County: f.county})
	if len(p.Objects) != 1 || len(p.SetAside) != 1 || p.SetAside[0].ObjectKey != f.id("O3") || p.SetAside[0].Reason != in.Reason {
		t.Errorf("proof objects %d, set aside %+v", len(p.Objects), p.SetAside)
	}
	if again := f.mustMatch(id); len(again.SetAside) != 1 {
		t.Errorf("the repeated match lost the set-aside: %+v", again)
	}
	if n := f.count(`SELECT count(*) FROM tasks WHERE batch_id = $1 AND object_key = $2 AND stage = 'set_aside'`, id, f.id("O3")); n != 1 {
		t.Errorf("%d set-aside task rows", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'match.set_aside' AND entity_id = $1`, id+"/"+f.county); n != 1 {
		t.Errorf("%d audit rows", n)
	}
	other := SetAsideInput{BatchID: id, County: f.county, ObjectKey: f.id("O1"), Reason: "late", By: "x"}
	if _, err := f.s.SetAside(ctx, other); fault.KindOf(err) != fault.Conflict {
		t.Errorf("set aside after the match: %v", err)
	}
}
