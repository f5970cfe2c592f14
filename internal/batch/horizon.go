package batch

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Horizon is what the working-day calendar must cover for a batch's
// deadlines: the end of its inspection period, the result-entry days
// counted from it, and the first year without a schedule that one of its
// tasks' open deadlines has already run into.
type Horizon struct {
	InspectionEnd *workday.Date
	// ResultEntryDays is the batch policy's; 0 when the batch has none.
	ResultEntryDays int
	// TaskUnscheduled is the smallest year its tasks recorded (0: none).
	TaskUnscheduled int
}

// MissingYear returns the first year without a schedule in cal that the
// batch's deadlines reach, or 0. An object inspected on the last day of the
// period has resultDays working days from then to enter its result, so the
// calendar must reach that far for every deadline to be counted.
func (h Horizon) MissingYear(cal *workday.Calendar, resultDays int) int {
	if h.ResultEntryDays > 0 {
		resultDays = h.ResultEntryDays
	}
	year := 0
	if h.TaskUnscheduled != 0 && len(cal.Missing(h.TaskUnscheduled)) == 1 {
		year = h.TaskUnscheduled
	}
	if h.InspectionEnd != nil {
		if y := cal.UnscheduledReach(*h.InspectionEnd, resultDays); y != 0 && (year == 0 || y < year) {
			year = y
		}
	}
	return year
}

// Horizons reads the horizons of the batches with the given IDs; a batch
// that does not exist is left out.
func (s *Service) Horizons(ctx context.Context, ids ...string) (map[string]Horizon, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT b.id, b.inspection_end::text, coalesce((b.policy->>'result_entry_days')::int, 0),
		       coalesce((SELECT min(t.unscheduled_year) FROM tasks t WHERE t.batch_id = b.id AND t.unscheduled_year IS NOT NULL), 0)
		FROM batches b WHERE b.id = ANY ($1)`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("read batch horizons: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Horizon, len(ids))
	for rows.Next() {
		var id string
		var end sql.NullString
		var h Horizon
		if err := rows.Scan(&id, &end, &h.ResultEntryDays, &h.TaskUnscheduled); err != nil {
			return nil, fmt.Errorf("read batch horizons: %w", err)
		}
		if end.Valid {
			if d, err := workday.ParseDate(end.String); err == nil {
				h.InspectionEnd = &d
			}
		}
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read batch horizons: %w", err)
	}
	return out, nil
}
