package staffing

import (
	"encoding/hex"
	"slices"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/match"
)

// A replacement decided from its state alone, without a database.
func replacementState(stage string, maxLoad int) replacement {
	var pool []match.Inspector
	for _, k := range []string{"A", "B", "C", "D", "E"} {
		pool = append(pool, match.Inspector{InspectorKey: k, Tags: []string{"land"}, MaxLoad: maxLoad})
	}
	return replacement{
		county: "330424", department: "", position: 1, stage: stage, beacon: "b", round: 2,
		drawSeed: [32]byte{1, 2, 3},
		dept: &inputs{objects: []match.Object{{ObjectKey: "O1", K: 2, RequiredTags: []string{"land"}, Recused: []string{"D"}}},
			inspectors: pool},
		team: []string{"A", "B"}, earlier: []string{"C"},
	}
}

func TestDecideReplacement(t *testing.T) {
	in := ReplaceInput{BatchID: "b1", ObjectKey: "O1", InspectorKey: "B"}
	st := replacementState("assigned", 5)
	p, err := decideReplacement(st, in, "因病")
	if err != nil {
		t.Fatal(err)
	}
	// A and B are the team, C was replaced before, D declared a conflict:
	// only E may come.
	if p.Replacement != "E" || p.Replaced != "B" || p.Round != 2 || p.Reason != "因病" || p.Kind != KindReplacement {
		t.Fatalf("proof %+v", p)
	}
	if got := p.Objects[0].Recused; !slices.Equal(got, []string{"D", "C"}) {
		t.Fatalf("recused in the proof %v, want the declared D and the earlier replaced C", got)
	}
	if st.dept.objects[0].Recused[0] != "D" || len(st.dept.objects[0].Recused) != 1 {
		t.Fatal("deciding changed its input")
	}
	// The proof recomputes: its own seed, object and pool give the same
	// replacement.
	seed := match.Seed(st.drawSeed, st.county, st.round, st.beacon)
	if p.MatchSeed != hex.EncodeToString(seed[:]) {
		t.Fatalf("match seed %s", p.MatchSeed)
	}
	if again, err := match.Replace(seed, p.Objects[0], p.Team, p.Replaced, p.Inspectors); err != nil || again != p.Replacement {
		t.Fatalf("recomputed %q %v", again, err)
	}

	if _, err := decideReplacement(replacementState("closed", 5), in, "因病"); !isConflict(err) {
		t.Fatalf("a closed task: %v", err)
	}
	full := replacementState("assigned", 5)
	for i := range full.dept.inspectors {
		full.dept.inspectors[i].InitialLoad = 5
	}
	_, err = decideReplacement(full, in, "因病")
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Conflict {
		t.Fatalf("nobody available: %v", err)
	}
	if u, ok := e.Details.([]Unstaffed); !ok || len(u) != 1 || u[0].Eligible != 1 || u[0].Available != 0 {
		t.Fatalf("details %#v", e.Details)
	}
}

func isConflict(err error) bool {
	e, ok := fault.As(err)
	return ok && e.Kind == fault.Conflict
}
