// Package workday counts working days (工作日) on China's official calendar.
//
// Statutory deadlines in the inspection process are given in working days:
// results are entered within 15 working days of the inspection, published
// within 20, and so on. A working day is a Monday to Friday that is not a
// statutory holiday, or a Saturday or Sunday that the State Council has made
// a make-up working day (调休上班). The holidays are not computable: they are
// published each November for the following year and have been changed in
// the middle of a year, so a Calendar is built from per-year schedules that
// an administrator can replace.
//
// A deadline that reaches into a year with no schedule is an error
// (*UnscheduledYearError), never a count of weekdays: such a deadline would
// be wrong by up to a week around the Spring Festival and National Day.
//
// Dates are civil dates (Date), not instants; DateOf converts an instant to
// its date in China (UTC+8).
package workday

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// UnscheduledYearError reports that a computation needed a day of a year for
// which the calendar has no holiday schedule. Use errors.As to detect it: it
// is returned wrapped with the computation that needed the year.
type UnscheduledYearError struct {
	Year int
}

func (e *UnscheduledYearError) Error() string {
	return fmt.Sprintf("no holiday schedule for %d (the official schedule is published each November for the following year)", e.Year)
}

// Calendar answers working-day questions from a set of yearly schedules.
//
// A Calendar is immutable once built and safe for concurrent use; With
// returns an updated copy, so a computation never sees a schedule change
// half-way through.
type Calendar struct {
	schedules map[int]Schedule
	// days maps each listed date to whether it is worked: false for a
	// holiday, true for a make-up working day. Dates absent from the map
	// follow the weekday rule.
	days map[Date]bool
}

// NewCalendar returns a calendar for the given years. Every schedule is
// validated (see Schedule.Validate) and a year may be given only once.
func NewCalendar(schedules ...Schedule) (*Calendar, error) {
	if err := validateAll(schedules); err != nil {
		return nil, err
	}
	c := &Calendar{
		schedules: make(map[int]Schedule, len(schedules)),
		days:      make(map[Date]bool),
	}
	for _, s := range schedules {
		c.add(s)
	}
	return c, nil
}

// add records a validated schedule in c, replacing any schedule for its year.
func (c *Calendar) add(s Schedule) {
	if old, ok := c.schedules[s.Year]; ok {
		for _, d := range old.Holidays {
			delete(c.days, d)
		}
		for _, d := range old.MakeupWorkdays {
			delete(c.days, d)
		}
	}
	s = s.clone()
	c.schedules[s.Year] = s
	for _, d := range s.Holidays {
		c.days[d] = false
	}
	for _, d := range s.MakeupWorkdays {
		c.days[d] = true
	}
}

// With returns a copy of c in which the given schedules are added, each
// replacing c's schedule for the same year if there is one. This is how an
// administrator's newly published or corrected year takes effect; c itself is
// unchanged.
func (c *Calendar) With(schedules ...Schedule) (*Calendar, error) {
	if err := validateAll(schedules); err != nil {
		return nil, err
	}
	next := &Calendar{
		schedules: maps.Clone(c.schedules),
		days:      maps.Clone(c.days),
	}
	if next.schedules == nil {
		next.schedules = make(map[int]Schedule)
		next.days = make(map[Date]bool)
	}
	for _, s := range schedules {
		next.add(s)
	}
	return next, nil
}

// Years returns the years c has schedules for, in increasing order.
func (c *Calendar) Years() []int {
	return slices.Sorted(maps.Keys(c.schedules))
}

// Missing returns those of years that c has no schedule for, in the order
// given.
func (c *Calendar) Missing(years ...int) []int {
	missing := []int{}
	for _, y := range years {
		if _, ok := c.schedules[y]; !ok {
			missing = append(missing, y)
		}
	}
	return missing
}

// UnscheduledReach returns the year without a schedule that a count of n
// working days from start runs into, or 0 when the count can be made.
func (c *Calendar) UnscheduledReach(start Date, n int) int {
	_, err := c.AddWorkingDays(start, n)
	var unscheduled *UnscheduledYearError
	if errors.As(err, &unscheduled) {
		return unscheduled.Year
	}
	return 0
}

// Schedule returns a copy of c's schedule for year, with its dates sorted,
// and whether there is one.
func (c *Calendar) Schedule(year int) (Schedule, bool) {
	s, ok := c.schedules[year]
	if !ok {
		return Schedule{}, false
	}
	return s.clone(), true
}

// IsWorkingDay reports whether d is a working day. It fails with a wrapped
// *UnscheduledYearError if c has no schedule for d's year.
func (c *Calendar) IsWorkingDay(d Date) (bool, error) {
	if !d.IsValid() {
		return false, fmt.Errorf("workday: invalid date %s", d)
	}
	ok, err := c.isWorkingDay(d)
	if err != nil {
		return false, fmt.Errorf("workday: %s: %w", d, err)
	}
	return ok, nil
}

// isWorkingDay is IsWorkingDay for a date known to be valid, with an
// unwrapped error so that callers can add their own context.
func (c *Calendar) isWorkingDay(d Date) (bool, error) {
	if _, ok := c.schedules[d.Year]; !ok {
		return false, &UnscheduledYearError{Year: d.Year}
	}
	if worked, listed := c.days[d]; listed {
		return worked, nil
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// AddWorkingDays returns the date that is n working days after start: the
// count begins on the day after start, so the result of a 15-working-day
// deadline from an inspection on start is the last day on which the result
// may still be entered. start itself need not be a working day (a task may be
// completed on a Sunday). For n = 0 it returns start.
//
// It fails with a wrapped *UnscheduledYearError as soon as the count needs a
// day of a year that c has no schedule for.
func (c *Calendar) AddWorkingDays(start Date, n int) (Date, error) {
	if !start.IsValid() {
		return Date{}, fmt.Errorf("workday: adding %d working days: invalid start date %s", n, start)
	}
	if n < 0 {
		return Date{}, fmt.Errorf("workday: adding %d working days to %s: count is negative", n, start)
	}
	d := start
	for counted := 0; counted < n; {
		d = d.AddDays(1)
		ok, err := c.isWorkingDay(d)
		if err != nil {
			return Date{}, fmt.Errorf("workday: adding %d working days to %s: %w", n, start, err)
		}
		if ok {
			counted++
		}
	}
	return d, nil
}

// WorkingDaysBetween returns the number of working days after a up to and
// including b: how many working days late something done on b is, measured
// from a deadline a. It is 0 if b is on or before a. For b after a it is the
// inverse of AddWorkingDays: if AddWorkingDays(a, n) is b, the result is n.
//
// It fails with a wrapped *UnscheduledYearError if any day in that range
// belongs to a year c has no schedule for.
func (c *Calendar) WorkingDaysBetween(a, b Date) (int, error) {
	if !a.IsValid() || !b.IsValid() {
		return 0, fmt.Errorf("workday: working days from %s to %s: invalid date", a, b)
	}
	n := 0
	for d := a.AddDays(1); !d.After(b); d = d.AddDays(1) {
		ok, err := c.isWorkingDay(d)
		if err != nil {
			return 0, fmt.Errorf("workday: working days from %s to %s: %w", a, b, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// cnJSON is the project's own copy of the official schedules. It is embedded
// so that the binary never depends on files outside itself at run time.
//
//go:embed schedules/cn.json
var cnJSON []byte

var defaultCalendar = sync.OnceValue(func() *Calendar {
	schedules, err := ParseSchedules(bytes.NewReader(cnJSON))
	if err != nil {
		// The file is compiled in and checked by the package tests, so this
		// is a build defect, not a run-time condition to handle.
		panic(fmt.Sprintf("workday: embedded schedules/cn.json: %v", err))
	}
	c, err := NewCalendar(schedules...)
	if err != nil {
		panic(fmt.Sprintf("workday: embedded schedules/cn.json: %v", err))
	}
	return c
})

// Default returns the calendar of the official schedules shipped with the
// program (schedules/cn.json: 2024 to 2026). The same immutable Calendar is
// returned on every call; use With to add years an administrator supplies.
func Default() *Calendar {
	return defaultCalendar()
}
