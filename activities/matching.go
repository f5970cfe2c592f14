package activities

import (
	"context"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// MatchInput asks for a county's inspector match in a batch.
type MatchInput struct {
	BatchID string `json:"batch_id"`
	County  string `json:"county"`
	Beacon  string `json:"beacon,omitempty"`
	// InspectionEnd is the last day of the batch's inspection period:
	// only inspectors whose certificate is valid through it are matched.
	// Required; the zero date is refused.
	InspectionEnd workday.Date `json:"inspection_end,omitzero"`
	// Auto marks a match the system runs because the county did not.
	Auto bool   `json:"auto,omitempty"`
	By   string `json:"by"`
}

// MatchResult is the teams by object key, with the round and match seed
// recorded in the match proof.
type MatchResult struct {
	Teams     map[string][]string `json:"teams"`
	Round     int                 `json:"round"`
	MatchSeed string              `json:"match_seed"`
	// SetAside are the county's objects left out of the match (no
	// inspector of the county may inspect them); they have no team and are
	// the city's exceptions.
	SetAside []string `json:"set_aside,omitempty"`
}

// Matcher runs and stores a county's match (DRAW-SPEC §2); an infeasible
// match is a fault.Conflict listing every object that cannot be staffed,
// and assigns nothing.
type Matcher interface {
	MatchCounty(ctx context.Context, in MatchInput) (MatchResult, error)
}

// ReplaceInput asks to replace one inspector of one object's team (sick,
// recused late), for a reason that is recorded.
type ReplaceInput struct {
	BatchID      string `json:"batch_id"`
	ObjectKey    string `json:"object_key"`
	InspectorKey string `json:"inspector_key"`
	Reason       string `json:"reason"`
	By           string `json:"by"`
}

// ReplaceResult is who replaces the inspector, in which matching round of
// the object, and the object's whole team afterwards.
type ReplaceResult struct {
	Replacement string   `json:"replacement"`
	Replaced    string   `json:"replaced"`
	Round       int      `json:"round"`
	MatchSeed   string   `json:"match_seed"`
	Department  string   `json:"department,omitempty"`
	Team        []string `json:"team"`
}

// Replacer replaces one inspector of a matched object (DRAW-SPEC §2,
// replacement): round r+1 for that object alone, recorded with its reason,
// results already entered kept. Nobody eligible and available is a
// fault.Conflict with the counts; an inspector not on the team is one too.
type Replacer interface {
	Replace(ctx context.Context, in ReplaceInput) (ReplaceResult, error)
}

// Matching is the match activity.
type Matching struct {
	Matcher  Matcher
	Replacer Replacer
}

// Match runs the county's match once: a retry after success returns the
// stored result.
func (m *Matching) Match(ctx context.Context, in MatchInput) (MatchResult, error) {
	res, err := m.Matcher.MatchCounty(ctx, in)
	if err != nil {
		return MatchResult{}, Reject(err)
	}
	return res, nil
}

// Replace replaces one inspector once: a retry after success returns the
// stored replacement.
func (m *Matching) Replace(ctx context.Context, in ReplaceInput) (ReplaceResult, error) {
	res, err := m.Replacer.Replace(ctx, in)
	if err != nil {
		return ReplaceResult{}, Reject(err)
	}
	return res, nil
}
