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

// ErrBadDueDateInput is returned (non-retryable) for impossible requests.
var ErrBadDueDateInput = errors.New("bad due-date input")

// PlanInput asks for a deadline and its reminder days: either Due is
// given (a fixed date, e.g. the end of the inspection period) or it is
// WorkingDays after Start.
type PlanInput struct {
	Start           *workday.Date `json:"start,omitempty"`
	WorkingDays     int           `json:"working_days,omitempty"`
	Due             *workday.Date `json:"due,omitempty"`
	ReminderOffsets []int         `json:"reminder_offsets,omitempty"`
}

// Plan is a deadline with the days its reminders go out, earliest first.
// Unscheduled names a year without a holiday schedule that the count
// reached: then Due (or the reminders) could not be computed.
type Plan struct {
	Due         *workday.Date  `json:"due,omitempty"`
	Reminders   []workday.Date `json:"reminders,omitempty"`
	Unscheduled int            `json:"unscheduled_year,omitempty"`
}

// Plan computes a deadline and its reminder days on the calendar in force
// (workday.Calendar.Deadline, the rule the API answers by too).
func (d *Deadlines) Plan(ctx context.Context, in PlanInput) (Plan, error) {
	t := workday.Term{WorkingDays: in.WorkingDays, Due: in.Due, ReminderOffsets: in.ReminderOffsets}
	if in.Start != nil {
		t.Start = *in.Start
	}
	if in.Due == nil && (in.Start == nil || in.WorkingDays < 0) {
		return Plan{}, temporal.NewNonRetryableApplicationError("a plan needs a due date or a start and working days", "BadPlanInput", ErrBadDueDateInput)
	}
	cal, err := d.Calendars.Calendar(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("load working-day calendar: %w", err)
	}
	dl, err := cal.Deadline(t)
	if err != nil {
		return Plan{}, fmt.Errorf("plan a deadline of %d working days from %s: %w", in.WorkingDays, t.Start, err)
	}
	return Plan{Due: dl.Due, Reminders: dl.Reminders, Unscheduled: dl.Unscheduled}, nil
}
