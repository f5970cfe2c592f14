package workday

import (
	"errors"
	"fmt"
	"slices"
)

// A Term asks for a deadline: either Due is given (a fixed date, such as the
// end of an inspection period) or it is WorkingDays after Start; reminders
// go out ReminderOffsets working days before it.
type Term struct {
	Start           Date
	WorkingDays     int
	Due             *Date
	ReminderOffsets []int
}

// A Deadline is a due date with the days its reminders go out, earliest
// first. Unscheduled names a year without a holiday schedule that a count
// reached: then Due (or those reminders) could not be computed, and the
// deadline is flagged for a person rather than counted on weekends alone.
type Deadline struct {
	Due         *Date
	Reminders   []Date
	Unscheduled int
}

// ErrBadTerm is wrapped by the error of a term that can have no deadline.
var ErrBadTerm = errors.New("workday: a deadline needs a due date, or a valid start and a count of working days that is not negative")

// Deadline computes t on c: the one rule of due dates and reminder days
// that the workflows' deadlines and the API's answers share.
func (c *Calendar) Deadline(t Term) (Deadline, error) {
	var unscheduled *UnscheduledYearError
	due := t.Due
	if due == nil {
		if !t.Start.IsValid() || t.WorkingDays < 0 {
			return Deadline{}, fmt.Errorf("start %s, %d working days: %w", t.Start, t.WorkingDays, ErrBadTerm)
		}
		d, err := c.AddWorkingDays(t.Start, t.WorkingDays)
		if errors.As(err, &unscheduled) {
			return Deadline{Unscheduled: unscheduled.Year}, nil
		}
		if err != nil {
			return Deadline{}, err
		}
		due = &d
	}
	out := Deadline{Due: due}
	for _, n := range t.ReminderOffsets {
		r, err := c.workingDaysBefore(*due, n)
		if errors.As(err, &unscheduled) {
			out.Unscheduled = unscheduled.Year
			continue
		}
		if err != nil {
			return Deadline{}, err
		}
		out.Reminders = append(out.Reminders, r)
	}
	slices.SortFunc(out.Reminders, Date.Compare)
	return out, nil
}

// workingDaysBefore returns the working day n working days before due.
func (c *Calendar) workingDaysBefore(due Date, n int) (Date, error) {
	d := due
	for n > 0 {
		d = d.AddDays(-1)
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			return Date{}, err
		}
		if ok {
			n--
		}
	}
	return d, nil
}
