package staffing

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/match"
)

// The kinds of stored proof.
const (
	// KindMatch is a county's match (round 1) of one department: a
	// [match.Proof] as DRAW-SPEC section 2 defines it.
	KindMatch = "match"
	// KindReplacement is the replacement of one inspector of one object:
	// round r+1 for that object alone.
	KindReplacement = "replacement"
)

// A Proof is a stored match proof as served to auditors: the proof of
// DRAW-SPEC section 2 (its fields at the top level, as [match.Proof]
// writes them) with what identifies it in the system.
//
// A replacement proof records the replacement rule's inputs and output:
// Objects holds the one object as it stood (recusals of the day included),
// Inspectors the department's pool of the day (InitialLoad being each one's
// load that day), Team the object's team in that department before the
// replacement, Replaced who left it and Replacement who joined; Round is
// the object's new round and MatchSeed that round's seed. It has no
// Assignments: recomputing it is [match.Replace], not [match.Match].
type Proof struct {
	Kind    string `json:"kind"`
	BatchID string `json:"batch_id"`
	// DepartmentCode is the department whose inspectors were matched in a
	// joint batch; empty when the county's whole pool was.
	DepartmentCode string `json:"department_code"`
	match.Proof

	Team        []string `json:"team,omitempty"`
	Replaced    string   `json:"replaced,omitempty"`
	Replacement string   `json:"replacement,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	// SetAside lists the county's drawn objects left out of the match
	// before it ran, with their reasons: they are not among Objects, so the
	// proof recomputes over the others.
	SetAside []SetAside `json:"set_aside,omitempty"`
}

// Verify recomputes a proof from its inputs and reports the first
// difference as a [*match.MismatchError], an input the algorithm refuses as
// a [*match.InputError], or nil when the proof holds. A proof without a
// kind is a match proof (the test vectors' form).
func Verify(p Proof) error {
	switch p.Kind {
	case "", KindMatch:
		return match.Verify(p.Proof)
	case KindReplacement:
		return verifyReplacement(p)
	}
	return &match.InputError{Field: "kind", Reason: fmt.Sprintf("%q is neither %q nor %q", p.Kind, KindMatch, KindReplacement)}
}

func verifyReplacement(p Proof) error {
	if p.Algorithm != match.Algorithm {
		return &match.MismatchError{Field: "algorithm", Proof: strconv.Quote(p.Algorithm), Recomputed: strconv.Quote(match.Algorithm)}
	}
	drawSeed, err := hex.DecodeString(p.DrawSeed)
	if err != nil || len(drawSeed) != 32 || p.DrawSeed != strings.ToLower(p.DrawSeed) {
		return &match.InputError{Field: "draw_seed", Reason: fmt.Sprintf("%q is not 64 lowercase hex digits", p.DrawSeed)}
	}
	if p.Round < 2 {
		return &match.InputError{Field: "round", Reason: "a replacement is round 2 or later, got " + strconv.Itoa(p.Round)}
	}
	seed := match.Seed([32]byte(drawSeed), p.CountyCode, p.Round, p.Beacon)
	if got := hex.EncodeToString(seed[:]); p.MatchSeed != got {
		return &match.MismatchError{Field: "match_seed", Proof: p.MatchSeed, Recomputed: got}
	}
	if got := match.PoolHash(p.Inspectors); p.PoolHash != got {
		return &match.MismatchError{Field: "pool_hash", Proof: p.PoolHash, Recomputed: got}
	}
	if len(p.Objects) != 1 {
		return &match.InputError{Field: "objects", Reason: fmt.Sprintf("a replacement proof has exactly one object, not %d", len(p.Objects))}
	}
	got, err := match.Replace(seed, p.Objects[0], p.Team, p.Replaced, p.Inspectors)
	var inf *match.InfeasibleError
	switch {
	case errors.As(err, &inf):
		o := inf.Objects[0]
		return &match.MismatchError{Field: "replacement", Proof: p.Replacement,
			Recomputed: fmt.Sprintf("nobody (eligible %d, available %d)", o.Eligible, o.Available)}
	case err != nil:
		var ie *match.InputError
		if errors.As(err, &ie) {
			// Replace names its parameters; name the proof's fields.
			return &match.InputError{Field: strings.Replace(ie.Field, "object.", "objects[0].", 1), Reason: ie.Reason}
		}
		return err
	}
	if got != p.Replacement {
		return &match.MismatchError{Field: "replacement", Proof: p.Replacement, Recomputed: got}
	}
	return nil
}
