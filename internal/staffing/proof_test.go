package staffing

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"

	"github.com/spotcheck-gov/spotcheck/internal/match"
)

// Every match vector of the DRAW-SPEC test vectors, as a proof without a kind
// (the vectors' form), verifies through Verify; with one team member
// changed it does not.
func TestVectorsVerify(t *testing.T) {
	data, err := os.ReadFile(drawvectors.File(t, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		match.Proof
		Expected struct {
			MatchSeed   string             `json:"match_seed"`
			Assignments []match.Assignment `json:"assignments"`
			Infeasible  []match.Infeasible `json:"infeasible"`
		} `json:"expected"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, c := range cases {
		if c.Algorithm != match.Algorithm {
			continue
		}
		n++
		p := Proof{Proof: c.Proof}
		p.MatchSeed, p.Assignments, p.Infeasible = c.Expected.MatchSeed, c.Expected.Assignments, c.Expected.Infeasible
		p.PoolHash = match.PoolHash(p.Inspectors)
		if err := Verify(p); err != nil {
			t.Errorf("vector %d: %v", i, err)
		}
		if len(p.Assignments) > 0 {
			p.Assignments[0].Inspectors[0] = "someone else"
			var mm *match.MismatchError
			if err := Verify(p); !errors.As(err, &mm) || mm.Field != "assignments[0].inspectors[0]" {
				t.Errorf("vector %d altered: %v", i, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no match vector")
	}
}

// A replacement proof is recomputed with match.Replace; each of its
// fields matters.
func TestVerifyReplacement(t *testing.T) {
	pool := []match.Inspector{
		{InspectorKey: "JX-1", Tags: []string{"land"}, InitialLoad: 3, MaxLoad: 20},
		{InspectorKey: "JX-2", Tags: []string{"land"}, InitialLoad: 5, MaxLoad: 20},
		{InspectorKey: "JX-3", Tags: []string{"land"}, InitialLoad: 4, MaxLoad: 20},
		{InspectorKey: "JX-4", Tags: []string{"land"}, InitialLoad: 4, MaxLoad: 20},
		{InspectorKey: "JX-5", Tags: []string{"survey"}, InitialLoad: 0, MaxLoad: 20},
	}
	object := match.Object{ObjectKey: "91330402MA2B1234X5", K: 2, RequiredTags: []string{"land"}, Recused: []string{"JX-1"}}
	drawSeed := [32]byte{7}
	seed := match.Seed(drawSeed, "330402", 2, "b")
	who, err := match.Replace(seed, object, []string{"JX-1", "JX-2"}, "JX-1", pool)
	if err != nil {
		t.Fatal(err)
	}
	valid := func() Proof {
		return Proof{Kind: KindReplacement, BatchID: "B", Proof: match.Proof{
			Algorithm: match.Algorithm, DrawSeed: hex.EncodeToString(drawSeed[:]), CountyCode: "330402", Round: 2, Beacon: "b",
			MatchSeed: hex.EncodeToString(seed[:]), PoolHash: match.PoolHash(pool),
			Objects: []match.Object{object}, Inspectors: pool,
		}, Team: []string{"JX-1", "JX-2"}, Replaced: "JX-1", Replacement: who, Reason: "回避"}
	}
	if err := Verify(valid()); err != nil {
		t.Fatalf("valid replacement proof: %v", err)
	}
	// Through JSON, as served and read by verify-match.
	doc, err := json.Marshal(valid())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(doc), `{"kind":"replacement","batch_id":"B","department_code":"","algorithm":"spotcheck-match-v1",`) {
		t.Errorf("JSON form %s", doc[:120])
	}
	var back Proof
	if err := json.Unmarshal(doc, &back); err != nil || Verify(back) != nil {
		t.Fatalf("round trip: %v %v", err, Verify(back))
	}

	for _, tt := range []struct {
		name, field string
		edit        func(*Proof)
	}{
		{"other replacement", "replacement", func(p *Proof) { p.Replacement = "JX-4" }},
		{"round", "match_seed", func(p *Proof) { p.Round = 3 }},
		{"load", "pool_hash", func(p *Proof) { p.Inspectors[2].InitialLoad = 9 }},
		{"nobody", "replacement", func(p *Proof) {
			p.Objects[0].Recused = []string{"JX-1", "JX-3", "JX-4"}
		}},
		{"not on team", "replaced", func(p *Proof) { p.Replaced = "JX-9" }},
		{"two objects", "objects", func(p *Proof) { p.Objects = append(p.Objects, p.Objects[0]) }},
		{"k", "objects[0].k", func(p *Proof) { p.Objects[0].K = 1 }},
		{"first round", "round", func(p *Proof) { p.Round = 1 }},
		{"algorithm", "algorithm", func(p *Proof) { p.Algorithm = "x" }},
	} {
		p := valid()
		p.Inspectors = append([]match.Inspector{}, pool...)
		p.Objects = []match.Object{object}
		tt.edit(&p)
		err := Verify(p)
		var mm *match.MismatchError
		var ie *match.InputError
		switch {
		case errors.As(err, &mm) && mm.Field == tt.field:
		case errors.As(err, &ie) && ie.Field == tt.field:
		default:
			t.Errorf("%s: %v, want a problem with %s", tt.name, err, tt.field)
		}
	}
}
