package activities

import (
	"context"

	"github.com/spotcheck-gov/spotcheck/internal/staffing"
)

// Matcher runs and stores a county's match (DRAW-SPEC §2); an infeasible
// match is a fault.Conflict listing every object that cannot be staffed,
// and assigns nothing.
type Matcher interface {
	MatchCounty(ctx context.Context, in staffing.MatchInput) (staffing.MatchResult, error)
}

// Replacer replaces one inspector of a matched object (DRAW-SPEC §2,
// replacement): round r+1 for that object alone, recorded with its reason,
// results already entered kept. Nobody eligible and available is a
// fault.Conflict with the counts; an inspector not on the team is one too.
type Replacer interface {
	Replace(ctx context.Context, in staffing.ReplaceInput) (staffing.ReplaceResult, error)
}

// TeamReader reads a page of a matched county's teams, in drawn order.
type TeamReader interface {
	TeamsPage(ctx context.Context, in staffing.TeamsPageInput) ([]staffing.ObjectTeam, error)
}

// The service the worker runs these activities with.
var (
	_ Matcher    = (*staffing.Service)(nil)
	_ Replacer   = (*staffing.Service)(nil)
	_ TeamReader = (*staffing.Service)(nil)
)

// Matching is the match activity.
type Matching struct {
	Matcher  Matcher
	Replacer Replacer
	Teams    TeamReader
}

// TeamsPage reads one page of the county's matched objects and their
// teams, so that a partition's input names a page, not its objects.
func (m *Matching) TeamsPage(ctx context.Context, in staffing.TeamsPageInput) ([]staffing.ObjectTeam, error) {
	page, err := m.Teams.TeamsPage(ctx, in)
	return page, Reject(err)
}

// Match runs the county's match once: a retry after success returns the
// stored result.
func (m *Matching) Match(ctx context.Context, in staffing.MatchInput) (staffing.MatchResult, error) {
	res, err := m.Matcher.MatchCounty(ctx, in)
	if err != nil {
		return staffing.MatchResult{}, Reject(err)
	}
	// A summary: the partitions read the teams page by page.
	res.Matched, res.Teams = len(res.Teams), nil
	return res, nil
}

// Replace replaces one inspector once: a retry after success returns the
// stored replacement.
func (m *Matching) Replace(ctx context.Context, in staffing.ReplaceInput) (staffing.ReplaceResult, error) {
	res, err := m.Replacer.Replace(ctx, in)
	if err != nil {
		return staffing.ReplaceResult{}, Reject(err)
	}
	return res, nil
}
