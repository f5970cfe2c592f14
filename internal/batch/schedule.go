package batch

// Schedule: the inspection period and the policy a batch's workflow runs on.

import (
	"context"
	"fmt"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// RecordSchedule records the end of batch id's inspection period and its
// policy (as JSON) the first time; a repeat with the same end changes
// nothing, and a repeat with another end is a conflict, since the first
// one may already be running.
func (s *Service) RecordSchedule(ctx context.Context, id string, end workday.Date, policy []byte) error {
	var stored string
	err := s.db.GetContext(ctx, &stored, `
		UPDATE batches SET inspection_end = coalesce(inspection_end, $2::date), policy = coalesce(policy, $3::jsonb)
		WHERE id = $1 RETURNING inspection_end::text`, id, end.String(), policy)
	if err != nil {
		return fmt.Errorf("record schedule of batch %s: %w", id, err)
	}
	if stored != end.String() {
		return fault.New(fault.Conflict, "batch %s already exists with inspection period ending %s", id, stored)
	}
	return nil
}
