// Package activities holds the Temporal activities of spotcheck: thin,
// idempotent I/O and calendar arithmetic that workflow code must not do
// itself (workflows stay deterministic; the calendar is data that changes).
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// CalendarSource supplies the working-day calendar in force now; an
// administrator may add a year's schedule at any time.
type CalendarSource interface {
	Calendar(ctx context.Context) (*workday.Calendar, error)
}

// StaticCalendar serves one fixed calendar.
type StaticCalendar struct{ Cal *workday.Calendar }

// Calendar returns the fixed calendar.
func (s StaticCalendar) Calendar(context.Context) (*workday.Calendar, error) { return s.Cal, nil }

// Deadlines computes due dates in working days.
type Deadlines struct {
	Calendars CalendarSource
}

// DueDateInput asks for the date WorkingDays working days after Start.
type DueDateInput struct {
	Start       workday.Date `json:"start"`
	WorkingDays int          `json:"working_days"`
}

// DueDate is the answer; Unscheduled is set, and Due left nil, when the
// count reaches a year whose holiday schedule is not yet published: such a
// deadline is flagged for a person, never computed on weekends alone.
type DueDate struct {
	Due         *workday.Date `json:"due,omitempty"`
	Unscheduled int           `json:"unscheduled_year,omitempty"`
}

// ErrBadDueDateInput is returned (non-retryable) for impossible requests.
var ErrBadDueDateInput = errors.New("bad due-date input")

// DueDate adds working days to a start date.
func (d *Deadlines) DueDate(ctx context.Context, in DueDateInput) (DueDate, error) {
	if !in.Start.IsValid() || in.WorkingDays < 0 {
		return DueDate{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("start %v, working days %d", in.Start, in.WorkingDays), "BadDueDateInput", ErrBadDueDateInput)
	}
	cal, err := d.Calendars.Calendar(ctx)
	if err != nil {
		return DueDate{}, fmt.Errorf("load working-day calendar: %w", err)
	}
	due, err := cal.AddWorkingDays(in.Start, in.WorkingDays)
	var unscheduled *workday.UnscheduledYearError
	if errors.As(err, &unscheduled) {
		return DueDate{Unscheduled: unscheduled.Year}, nil
	}
	if err != nil {
		return DueDate{}, fmt.Errorf("add %d working days to %s: %w", in.WorkingDays, in.Start, err)
	}
	return DueDate{Due: &due}, nil
}
