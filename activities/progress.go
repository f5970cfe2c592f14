package activities

import (
	"context"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
)

// ProgressReader reads a batch's progress from its counters.
type ProgressReader interface {
	Progress(ctx context.Context, batchID, onlyCounty string) (stats.Progress, error)
}

var _ ProgressReader = (*stats.Service)(nil)

// CountyRef names one county of a batch.
type CountyRef struct {
	BatchID string `json:"batch_id"`
	County  string `json:"county"`
}

// Progress reads where a county stands from the database's counters, the
// figures the API shows, so that a county workflow need not hold a stage
// per object.
type Progress struct {
	Reader ProgressReader
}

// CountyProgress counts the county's objects by stage and its passed
// deadlines by duty.
func (p *Progress) CountyProgress(ctx context.Context, ref CountyRef) (stats.CountyProgress, error) {
	all, err := p.Reader.Progress(ctx, ref.BatchID, ref.County)
	if err != nil {
		return stats.CountyProgress{}, Reject(err)
	}
	for _, c := range all.Counties {
		if c.County == ref.County {
			return c, nil
		}
	}
	return stats.CountyProgress{County: ref.County, Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}, nil
}
