package match

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A Proof records one matching round: everything needed to recompute it,
// and its outcome. It is the match proof of DRAW-SPEC.md section 2, served
// to auditors; its JSON form uses the field names of the specification and
// of the test vectors.
//
// Exactly one of Assignments and Infeasible is non-empty, unless there were
// no objects at all.
type Proof struct {
	Algorithm  string `json:"algorithm"`
	DrawSeed   string `json:"draw_seed"` // lowercase hex of the 32-byte draw seed
	CountyCode string `json:"county_code"`
	Round      int    `json:"round"`
	Beacon     string `json:"beacon"`
	MatchSeed  string `json:"match_seed"` // lowercase hex
	PoolHash   string `json:"pool_hash"`  // see PoolHash

	Objects    []Object    `json:"objects"`
	Inspectors []Inspector `json:"inspectors"`

	Assignments []Assignment `json:"assignments,omitempty"`
	Infeasible  []Infeasible `json:"infeasible,omitempty"`
}

// NewProof runs a matching round and records it. The match seed is
// Seed(drawSeed, countyCode, round, beacon).
//
// When some objects cannot be staffed NewProof returns the proof, with
// Infeasible set, together with the [*InfeasibleError]: a refusal to match
// is a recorded outcome too. Any other error means there is no proof.
func NewProof(drawSeed [32]byte, countyCode string, round int, beacon string, objects []Object, inspectors []Inspector) (Proof, error) {
	if err := checkRound(countyCode, round); err != nil {
		return Proof{}, err
	}
	seed := Seed(drawSeed, countyCode, round, beacon)
	p := Proof{
		Algorithm:  Algorithm,
		DrawSeed:   hex.EncodeToString(drawSeed[:]),
		CountyCode: countyCode,
		Round:      round,
		Beacon:     beacon,
		MatchSeed:  hex.EncodeToString(seed[:]),
		PoolHash:   PoolHash(inspectors),
		Objects:    cloneObjects(objects),
		Inspectors: cloneInspectors(inspectors),
	}
	res, err := Match(seed, p.Objects, p.Inspectors)
	var inf *InfeasibleError
	switch {
	case errors.As(err, &inf):
		p.Infeasible = inf.Objects
		return p, err
	case err != nil:
		return Proof{}, err
	}
	p.Assignments = res.Assignments
	return p, nil
}

// cloneObjects copies objects so that a proof does not change when the
// caller reuses its slices, and writes absent lists as [] rather than null.
func cloneObjects(objects []Object) []Object {
	c := make([]Object, len(objects))
	for i, o := range objects {
		o.RequiredTags = append([]string{}, o.RequiredTags...)
		o.Recused = append([]string{}, o.Recused...)
		c[i] = o
	}
	return c
}

func cloneInspectors(inspectors []Inspector) []Inspector {
	c := make([]Inspector, len(inspectors))
	for i, in := range inspectors {
		in.Tags = append([]string{}, in.Tags...)
		c[i] = in
	}
	return c
}

// checkRound validates the parameters of Seed that the specification
// constrains. A NUL byte in the county code is refused because 0x00
// separates the fields of the seed's preimage: "33\x00" could otherwise
// stand for a county and the start of the next field.
func checkRound(countyCode string, round int) error {
	if r := labelProblem(countyCode); r != "" {
		return &InputError{"county_code", r}
	}
	if strings.IndexByte(countyCode, 0) >= 0 {
		return &InputError{"county_code", fmt.Sprintf("%q contains a NUL byte", countyCode)}
	}
	if round < 1 {
		return &InputError{"round", "must be at least 1, got " + strconv.Itoa(round)}
	}
	return nil
}

// A MismatchError reports the first value of a proof that recomputation does
// not reproduce. Field is its JSON path, such as
// "assignments[3].inspectors[1]".
type MismatchError struct {
	Field      string
	Proof      string // what the proof says
	Recomputed string // what recomputation gives
}

func (e *MismatchError) Error() string {
	return "match: proof does not verify: " + e.Field + ": proof says " + e.Proof + ", recomputed " + e.Recomputed
}

// Verify recomputes a proof from its inputs and reports the first
// difference as a [*MismatchError], an input the algorithm refuses as an
// [*InputError], or nil when the proof holds. It checks, in order: the
// algorithm name, the match seed, the pool hash, then the outcome (every
// assignment and team member in order, or every infeasible object).
func Verify(p Proof) error {
	if p.Algorithm != Algorithm {
		return &MismatchError{"algorithm", strconv.Quote(p.Algorithm), strconv.Quote(Algorithm)}
	}
	drawSeed, err := hex.DecodeString(p.DrawSeed)
	if err != nil || len(drawSeed) != 32 || p.DrawSeed != strings.ToLower(p.DrawSeed) {
		return &InputError{"draw_seed", fmt.Sprintf("%q is not 64 lowercase hex digits", p.DrawSeed)}
	}
	if err := checkRound(p.CountyCode, p.Round); err != nil {
		return err
	}
	seed := Seed([32]byte(drawSeed), p.CountyCode, p.Round, p.Beacon)
	if got := hex.EncodeToString(seed[:]); p.MatchSeed != got {
		return &MismatchError{"match_seed", p.MatchSeed, got}
	}
	if got := PoolHash(p.Inspectors); p.PoolHash != got {
		return &MismatchError{"pool_hash", p.PoolHash, got}
	}

	res, err := Match(seed, p.Objects, p.Inspectors)
	var inf *InfeasibleError
	switch {
	case errors.As(err, &inf):
		if len(p.Assignments) > 0 {
			return &MismatchError{"assignments", count(len(p.Assignments), "entry", "entries"),
				"none, as " + count(len(inf.Objects), "object is", "objects are") + " infeasible"}
		}
		return compareInfeasible(p.Infeasible, inf.Objects)
	case err != nil:
		// An *InputError, whose Field already is a path in the proof.
		return err
	}
	if len(p.Infeasible) > 0 {
		return &MismatchError{"infeasible", count(len(p.Infeasible), "object", "objects"),
			"none, as every object is staffed"}
	}
	return compareAssignments(p.Assignments, res.Assignments)
}

func compareAssignments(proof, got []Assignment) error {
	for i := range min(len(proof), len(got)) {
		path := fmt.Sprintf("assignments[%d]", i)
		if proof[i].ObjectKey != got[i].ObjectKey {
			return &MismatchError{path + ".object_key", proof[i].ObjectKey, got[i].ObjectKey}
		}
		pt, gt := proof[i].Inspectors, got[i].Inspectors
		for t := range min(len(pt), len(gt)) {
			if pt[t] != gt[t] {
				return &MismatchError{fmt.Sprintf("%s.inspectors[%d]", path, t), pt[t], gt[t]}
			}
		}
		if len(pt) != len(gt) {
			return &MismatchError{path + ".inspectors", teamString(pt), teamString(gt)}
		}
	}
	if len(proof) != len(got) {
		return &MismatchError{"assignments", count(len(proof), "entry", "entries"), count(len(got), "entry", "entries")}
	}
	return nil
}

func compareInfeasible(proof, got []Infeasible) error {
	for i := range min(len(proof), len(got)) {
		path := fmt.Sprintf("infeasible[%d]", i)
		p, g := proof[i], got[i]
		switch {
		case p.ObjectKey != g.ObjectKey:
			return &MismatchError{path + ".object_key", p.ObjectKey, g.ObjectKey}
		case p.Eligible != g.Eligible:
			return &MismatchError{path + ".eligible", strconv.Itoa(p.Eligible), strconv.Itoa(g.Eligible)}
		case p.Available != g.Available:
			return &MismatchError{path + ".available", strconv.Itoa(p.Available), strconv.Itoa(g.Available)}
		}
	}
	if len(proof) != len(got) {
		return &MismatchError{"infeasible", count(len(proof), "object", "objects"), count(len(got), "object", "objects")}
	}
	return nil
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func teamString(team []string) string {
	return "[" + strings.Join(team, " ") + "]"
}
