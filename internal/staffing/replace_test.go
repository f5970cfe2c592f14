package staffing

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// recordTasks writes the batch's tasks as the lead's workflow does after a
// match: one per object with its team, in stage.
func recordTasks(f *fixture, batchID, stage string, teams map[string][]string) {
	f.t.Helper()
	for key, team := range teams {
		f.exec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors) VALUES ($1, $2, $3, $4, $5)`,
			batchID, key, f.county, stage, pq.Array(team))
	}
}

func TestReplace(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"}, inspSpec{key: "C"}, inspSpec{key: "D"}, inspSpec{key: "E"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}, {key: "O2"}})
	res := f.mustMatch(id)
	recordTasks(f, id, "assigned", res.Teams)
	o1 := f.id("O1")
	team := res.Teams[o1]
	// A result already entered on O1 must survive the replacement.
	f.exec(`UPDATE tasks SET stage = 'result_entered' WHERE batch_id = $1 AND object_key = $2`, id, o1)
	f.exec(`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at)
		VALUES ($1, $2, 1, 'no_problem', 'on_site', false, 'inspector:x', now())`, id, o1)
	// Another open task of another batch for one non-member: loads of today.
	var outside []string
	for _, k := range keysOf(f, "A", "B", "C", "D", "E") {
		if !slices.Contains(team, k) {
			outside = append(outside, k)
		}
	}
	f.task("other", f.id("Z1"), "assigned", outside[:1], time.Hour)

	in := ReplaceInput{BatchID: id, ObjectKey: o1, InspectorKey: team[0], Reason: " 因病无法参加检查 ", By: "county_officer:test"}
	rep, err := f.s.Replace(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Round != 2 || rep.Replaced != team[0] || slices.Contains(team, rep.Replacement) || rep.Department != "" {
		t.Fatalf("replacement %+v of team %v", rep, team)
	}
	if want := []string{rep.Replacement, team[1]}; !slices.Equal(rep.Team, want) {
		t.Errorf("team after %v, want %v (same seat)", rep.Team, want)
	}

	p := f.proof(ProofQuery{BatchID: id, County: f.county, ObjectKey: o1})
	if p.Kind != KindReplacement || p.Round != 2 || p.MatchSeed != rep.MatchSeed || !slices.Equal(p.Team, team) ||
		p.Replaced != team[0] || p.Replacement != rep.Replacement || p.Reason != "因病无法参加检查" || len(p.Objects) != 1 {
		t.Fatalf("replacement proof %+v", p)
	}
	loads := map[string]int{}
	for _, in := range p.Inspectors {
		loads[in.InspectorKey] = in.InitialLoad
	}
	// Today's loads: the tasks of this batch, and the other one.
	for _, k := range keysOf(f, "A", "B", "C", "D", "E") {
		want := 0
		for _, tm := range res.Teams {
			if slices.Contains(tm, k) {
				want++
			}
		}
		if k == outside[0] {
			want++
		}
		if loads[k] != want {
			t.Errorf("load of %s = %d, want %d", k, loads[k], want)
		}
	}
	if p.MatchSeed == f.proof(ProofQuery{BatchID: id, County: f.county}).MatchSeed {
		t.Error("the replacement reused round 1's seed")
	}

	var old struct {
		Reason string `db:"replaced_reason"`
		By     string `db:"replaced_by"`
		Round  int    `db:"replaced_in_round"`
	}
	if err := f.db.Get(&old, `SELECT replaced_reason, replaced_by, replaced_in_round FROM match_assignments
		WHERE batch_id = $1 AND object_key = $2 AND inspector_key = $3 AND round = 1`, id, o1, team[0]); err != nil {
		t.Fatal(err)
	}
	if old.Reason != "因病无法参加检查" || old.By != "county_officer:test" || old.Round != 2 {
		t.Errorf("replaced row %+v", old)
	}
	if n := f.count(`SELECT count(*) FROM results WHERE batch_id = $1 AND object_key = $2`, id, o1); n != 1 {
		t.Errorf("%d results after the replacement", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'match.replace' AND payload->>'object_key' = $1
		AND payload->>'replacement' = $2`, o1, rep.Replacement); n != 1 {
		t.Errorf("%d audit entries", n)
	}

	// A retry returns the same replacement and writes nothing.
	rows := f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id)
	again, err := f.s.Replace(ctx, in)
	if err != nil || !reflect.DeepEqual(again, rep) {
		t.Fatalf("retry %+v, %v; first %+v", again, err, rep)
	}
	if f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id) != rows {
		t.Error("the retry wrote assignments")
	}
	// The same inspector for another reason, or anyone off the team: no.
	_, err = f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: o1, InspectorKey: team[0], Reason: "其他", By: "county_officer:test"})
	wantFault(t, err, fault.Conflict, "is not on the team")
	_, err = f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: "nope", InspectorKey: team[1], Reason: "x"})
	wantFault(t, err, fault.NotFound, "not on the drawn list")
	_, err = f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: o1, InspectorKey: team[1]})
	wantFault(t, err, fault.Invalid, "incomplete")

	// A late recusal, declared after the match: round 3, and the proof's
	// object carries it.
	f.exec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '利害关系')`, team[1], o1)
	rep3, err := f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: o1, InspectorKey: team[1], Reason: "申请回避", By: "county_officer:test"})
	if err != nil {
		t.Fatal(err)
	}
	p3 := f.proof(ProofQuery{BatchID: id, County: f.county, ObjectKey: o1})
	if rep3.Round != 3 || p3.Round != 3 || !slices.Contains(p3.Objects[0].Recused, team[1]) || slices.Contains(rep3.Team, team[1]) || slices.Contains(rep3.Team, team[0]) {
		t.Fatalf("second replacement %+v, proof object %+v", rep3, p3.Objects[0])
	}
	if p2 := f.proof(ProofQuery{BatchID: id, County: f.county, ObjectKey: o1, Round: 2}); p2.Replacement != rep.Replacement {
		t.Errorf("round 2 proof %+v", p2)
	}
	list, err := f.s.Proofs(ctx, id, f.county)
	if err != nil || len(list) != 3 || list[0].Kind != KindMatch || list[1].Round != 2 || list[2].Round != 3 || list[2].ObjectKey != o1 {
		t.Errorf("proofs %+v %v", list, err)
	}
	// The match's answer is still round 1's.
	if first := f.mustMatch(id); !reflect.DeepEqual(first.Teams, res.Teams) {
		t.Errorf("match retry after replacements: %v, want %v", first.Teams, res.Teams)
	}
}

// Nobody eligible and available: a Conflict with the counts, and nothing
// changes.
func TestReplaceWithNobodyLeft(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	keys := f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"}, inspSpec{key: "C"}, inspSpec{key: "D"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}})
	res := f.mustMatch(id)
	team := res.Teams[f.id("O1")]
	var others []string
	for _, k := range keys {
		if !slices.Contains(team, k) {
			others = append(others, k)
		}
	}
	// One outsider goes on leave, the other declares a conflict of interest.
	f.exec(`UPDATE inspectors SET status = 'on_leave' WHERE key = $1`, others[0])
	f.exec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '利害关系')`, others[1], f.id("O1"))
	before := f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id)
	audits := f.count(`SELECT count(*) FROM audit_log`)

	_, err := f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: f.id("O1"), InspectorKey: team[0], Reason: "因病", By: "x"})
	e := wantFault(t, err, fault.Conflict, "nobody can replace")
	if u, ok := e.Details.([]Unstaffed); !ok || len(u) != 1 || u[0] != (Unstaffed{ObjectKey: f.id("O1"), Eligible: 0, Available: 0}) {
		t.Errorf("details %#v", e.Details)
	}
	if f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1 AND replaced_at IS NULL`, id) != 2 ||
		f.count(`SELECT count(*) FROM match_assignments WHERE batch_id = $1`, id) != before || f.count(`SELECT count(*) FROM audit_log`) != audits {
		t.Error("a refused replacement changed something")
	}

	// A closed task's team is history.
	f.exec(`DELETE FROM inspector_conflicts WHERE object_key = $1`, f.id("O1"))
	recordTasks(f, id, "closed", res.Teams)
	_, err = f.s.Replace(ctx, ReplaceInput{BatchID: id, ObjectKey: f.id("O1"), InspectorKey: team[0], Reason: "因病", By: "x"})
	wantFault(t, err, fault.Conflict, "is closed")
}

// Assignments are history: the database refuses to delete them or to
// rewrite anything but the replacement mark, and proofs are immutable.
func TestAssignmentsAreKept(t *testing.T) {
	f := newFixture(t)
	zr := f.item(itemSpec{code: "ZR"})
	f.inspectors(inspSpec{key: "A"}, inspSpec{key: "B"})
	id := f.batch("b", []string{zr}, []objSpec{{key: "O1"}})
	f.mustMatch(id)
	for _, q := range []string{
		`DELETE FROM match_assignments WHERE batch_id = $1`,
		`UPDATE match_assignments SET inspector_key = 'X' WHERE batch_id = $1`,
		`UPDATE matches SET pool_hash = repeat('0', 64) WHERE batch_id = $1`,
		`DELETE FROM matches WHERE batch_id = $1`,
	} {
		if _, err := f.db.Exec(q, id); err == nil {
			t.Errorf("%s: allowed", q)
		}
	}
}
