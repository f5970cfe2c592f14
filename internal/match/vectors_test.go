package match

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"
	"os"
	"reflect"
	"testing"
)

// matchCase is a "spotcheck-match-v1" case of the DRAW-SPEC test vectors.
type matchCase struct {
	Algorithm  string      `json:"algorithm"`
	DrawSeed   string      `json:"draw_seed"`
	CountyCode string      `json:"county_code"`
	Round      int         `json:"round"`
	Beacon     string      `json:"beacon"`
	Objects    []Object    `json:"objects"`
	Inspectors []Inspector `json:"inspectors"`
	Expected   struct {
		MatchSeed   string       `json:"match_seed"`
		Assignments []Assignment `json:"assignments"`
		Infeasible  []Infeasible `json:"infeasible"`
	} `json:"expected"`
}

func loadMatchCases(t *testing.T) []matchCase {
	path := drawvectors.File(t, "vectors.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var cases []matchCase
	for i, r := range raw {
		var head struct{ Algorithm string }
		if err := json.Unmarshal(r, &head); err != nil {
			t.Fatalf("%s: case %d: %v", path, i, err)
		}
		if head.Algorithm != Algorithm {
			continue
		}
		// Unknown fields fail the test: a field added to the vectors (a
		// pool_hash, say) is something this package must learn to check.
		var c matchCase
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: case %d: %v", path, i, err)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("%s has no %s case", path, Algorithm)
	}
	return cases
}

func TestVectors(t *testing.T) {
	for i, c := range loadMatchCases(t) {
		t.Run(c.CountyCode+"-"+c.Expected.MatchSeed[:8], func(t *testing.T) {
			drawSeed, err := hex.DecodeString(c.DrawSeed)
			if err != nil || len(drawSeed) != 32 {
				t.Fatalf("case %d: bad draw_seed %q", i, c.DrawSeed)
			}
			seed := Seed([32]byte(drawSeed), c.CountyCode, c.Round, c.Beacon)
			if got := hex.EncodeToString(seed[:]); got != c.Expected.MatchSeed {
				t.Fatalf("match_seed = %s, want %s", got, c.Expected.MatchSeed)
			}

			res, err := Match(seed, c.Objects, c.Inspectors)
			var inf *InfeasibleError
			switch {
			case c.Expected.Infeasible != nil:
				if !errors.As(err, &inf) {
					t.Fatalf("Match: err = %v, want *InfeasibleError", err)
				}
				if !reflect.DeepEqual(inf.Objects, c.Expected.Infeasible) {
					t.Fatalf("infeasible =\n%v\nwant\n%v", inf.Objects, c.Expected.Infeasible)
				}
				if res.Assignments != nil {
					t.Errorf("infeasible match assigned %d objects", len(res.Assignments))
				}
			default:
				if err != nil {
					t.Fatalf("Match: %v", err)
				}
				if err := compareAssignments(c.Expected.Assignments, res.Assignments); err != nil {
					t.Fatalf("assignments differ from the vector: %v", err)
				}
			}

			// The vector, completed with its pool hash, is a valid proof,
			// and NewProof records the same outcome.
			p := Proof{
				Algorithm:   c.Algorithm,
				DrawSeed:    c.DrawSeed,
				CountyCode:  c.CountyCode,
				Round:       c.Round,
				Beacon:      c.Beacon,
				MatchSeed:   c.Expected.MatchSeed,
				PoolHash:    PoolHash(c.Inspectors),
				Objects:     c.Objects,
				Inspectors:  c.Inspectors,
				Assignments: c.Expected.Assignments,
				Infeasible:  c.Expected.Infeasible,
			}
			if err := Verify(p); err != nil {
				t.Errorf("Verify(vector): %v", err)
			}
			np, err := NewProof([32]byte(drawSeed), c.CountyCode, c.Round, c.Beacon, c.Objects, c.Inspectors)
			if (err != nil) != (c.Expected.Infeasible != nil) {
				t.Errorf("NewProof: err = %v", err)
			}
			if !reflect.DeepEqual(np, p) {
				t.Errorf("NewProof differs from the vector's proof")
			}
		})
	}
}
