package staffing

import "github.com/spotcheck-gov/spotcheck/internal/workday"

// The inputs and results of a county's match and of a replacement: the
// activities' payloads, recorded in the workflows' histories as JSON (so
// their field names never change).

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
// recorded in the match proof. Through Temporal (the match activity, the
// county's answer) it is a summary: Matched counts the teams, Teams is
// left out, and the teams are read from the match proof page by page, so
// the answer keeps its size whatever the county.
type MatchResult struct {
	Teams     map[string][]string `json:"teams,omitempty"`
	Matched   int                 `json:"matched"`
	Round     int                 `json:"round"`
	MatchSeed string              `json:"match_seed"`
	// SetAside are the county's objects left out of the match (no
	// inspector of the county may inspect them); they have no team and are
	// the city's exceptions.
	SetAside []string `json:"set_aside,omitempty"`
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
