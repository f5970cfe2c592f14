package staffing

import (
	"reflect"
	"testing"
)

// The pages of a county's teams are the match's answer, object by object
// in drawn order, set-aside objects left out, every object exactly once.
func TestTeamsPageReadsTheMatchInDrawnOrder(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"}, inspSpec{key: "C"}, inspSpec{key: "D"})
	// Drawn order is not key order.
	objs := []objSpec{{key: "O5"}, {key: "O1"}, {key: "O4"}, {key: "O2"}, {key: "O3"}}
	id := f.batch("b", []string{zr}, objs)
	if _, err := f.s.SetAside(ctx, SetAsideInput{BatchID: id, County: f.county, ObjectKey: f.id("O4"), Reason: "全部人员回避", By: "county_officer:test"}); err != nil {
		t.Fatal(err)
	}
	before, err := f.s.TeamsPage(ctx, TeamsPageInput{BatchID: id, County: f.county, Page: 0, Size: 2})
	if err != nil || len(before) != 0 {
		t.Fatalf("before the match: %v %+v", err, before)
	}
	res := f.mustMatch(id)

	var got []ObjectTeam
	for page := 0; ; page++ {
		p, err := f.s.TeamsPage(ctx, TeamsPageInput{BatchID: id, County: f.county, Page: page, Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > 2 {
			t.Fatalf("page %d has %d objects, size 2", page, len(p))
		}
		if len(p) == 0 {
			break
		}
		got = append(got, p...)
	}
	var want []ObjectTeam
	for _, o := range []string{"O5", "O1", "O2", "O3"} {
		want = append(want, ObjectTeam{ObjectKey: f.id(o), Team: res.Teams[f.id(o)]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages %+v\nwant (drawn order, O4 set aside) %+v", got, want)
	}
	if _, err := f.s.TeamsPage(ctx, TeamsPageInput{BatchID: id, County: f.county, Page: 0, Size: 0}); err == nil {
		t.Error("a page of size 0 was read")
	}
}
