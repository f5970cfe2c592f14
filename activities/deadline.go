// Package activities holds the Temporal activities of spotcheck: thin,
// idempotent I/O and calendar arithmetic that workflow code must not do
// itself (workflows stay deterministic; the calendar is data that changes).
package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"

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

// Plan computes a deadline and its reminder days on the calendar in force.
func (d *Deadlines) Plan(ctx context.Context, in PlanInput) (Plan, error) {
	cal, err := d.Calendars.Calendar(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("load working-day calendar: %w", err)
	}
	var unscheduled *workday.UnscheduledYearError
	due := in.Due
	if due == nil {
		if in.Start == nil || in.WorkingDays < 0 {
			return Plan{}, temporal.NewNonRetryableApplicationError("a plan needs a due date or a start and working days", "BadPlanInput", ErrBadDueDateInput)
		}
		dd, err := cal.AddWorkingDays(*in.Start, in.WorkingDays)
		if errors.As(err, &unscheduled) {
			return Plan{Unscheduled: unscheduled.Year}, nil
		}
		if err != nil {
			return Plan{}, fmt.Errorf("add %d working days to %s: %w", in.WorkingDays, in.Start, err)
		}
		due = &dd
	}
	p := Plan{Due: due}
	for _, off := range in.ReminderOffsets {
		r, err := workingDaysBefore(cal, *due, off)
		if errors.As(err, &unscheduled) {
			p.Unscheduled = unscheduled.Year
			continue
		}
		if err != nil {
			return Plan{}, err
		}
		p.Reminders = append(p.Reminders, r)
	}
	sort.Slice(p.Reminders, func(i, j int) bool { return p.Reminders[i].Before(p.Reminders[j]) })
	return p, nil
}

// workingDaysBefore returns the working day n working days before due.
func workingDaysBefore(cal *workday.Calendar, due workday.Date, n int) (workday.Date, error) {
	d := due
	for n > 0 {
		d = d.AddDays(-1)
		ok, err := cal.IsWorkingDay(d)
		if err != nil {
			return workday.Date{}, err
		}
		if ok {
			n--
		}
	}
	return d, nil
}

// LateInput asks how many working days after Due the day On is.
type LateInput struct {
	Due workday.Date `json:"due"`
	On  workday.Date `json:"on"`
}

// WorkingDaysLate counts the working days from the day after Due through On.
func (d *Deadlines) WorkingDaysLate(ctx context.Context, in LateInput) (int, error) {
	cal, err := d.Calendars.Calendar(ctx)
	if err != nil {
		return 0, fmt.Errorf("load working-day calendar: %w", err)
	}
	n, err := cal.WorkingDaysBetween(in.Due, in.On)
	var unscheduled *workday.UnscheduledYearError
	if errors.As(err, &unscheduled) {
		// Without the schedule count calendar days minus weekends would be a
		// guess; report the calendar days and let the ledger say so.
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), "UnscheduledYear", err)
	}
	return n, err
}
