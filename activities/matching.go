package activities

import "context"

// MatchInput asks for a county's inspector match in a batch.
type MatchInput struct {
	BatchID string `json:"batch_id"`
	County  string `json:"county"`
	Beacon  string `json:"beacon,omitempty"`
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
}

// Matcher runs and stores a county's match (DRAW-SPEC §2); an infeasible
// match is a fault.Conflict listing every object that cannot be staffed,
// and assigns nothing.
type Matcher interface {
	MatchCounty(ctx context.Context, in MatchInput) (MatchResult, error)
}

// Matching is the match activity.
type Matching struct {
	Matcher Matcher
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
