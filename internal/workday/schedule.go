package workday

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Schedule is one year's official holiday arrangement, as published by the
// State Council General Office each November for the following year.
//
// Holidays lists every day off, including the Saturdays and Sundays that fall
// inside a holiday block (listing them is harmless and keeps the list a copy
// of the notice). MakeupWorkdays lists the weekend days that are worked
// instead (调休上班). Every other Monday to Friday is a working day and every
// other Saturday and Sunday is not.
type Schedule struct {
	Year           int    `json:"year"`
	Holidays       []Date `json:"holidays"`
	MakeupWorkdays []Date `json:"makeup_workdays"`
}

// scheduleFile is the layout of a schedule file such as schedules/cn.json.
type scheduleFile struct {
	// Source says where the dates were copied from; it is for the people
	// maintaining the file and is not interpreted.
	Source    string     `json:"source"`
	Schedules []Schedule `json:"schedules"`
}

// Validate reports every problem with s, each naming the offending date: a
// date that is invalid or outside s.Year, a date listed twice, a date that is
// both a holiday and a make-up working day, and a make-up working day that is
// not a Saturday or Sunday. A schedule with no holidays at all is rejected
// too: no year in China has none, and accepting one would quietly compute
// deadlines on weekends alone, which is what an unscheduled year prevents.
func (s Schedule) Validate() error {
	var problems []error
	if s.Year < 1 || s.Year > 9999 {
		problems = append(problems, fmt.Errorf("year %d is out of range", s.Year))
	}
	if len(s.Holidays) == 0 {
		problems = append(problems, errors.New("no holidays listed"))
	}

	holidays := make(map[Date]bool, len(s.Holidays))
	for _, d := range s.Holidays {
		if err := s.checkDate("holiday", d); err != nil {
			problems = append(problems, err)
			continue
		}
		if holidays[d] {
			problems = append(problems, fmt.Errorf("holiday %s is listed twice", d))
		}
		holidays[d] = true
	}

	makeups := make(map[Date]bool, len(s.MakeupWorkdays))
	for _, d := range s.MakeupWorkdays {
		if err := s.checkDate("make-up working day", d); err != nil {
			problems = append(problems, err)
			continue
		}
		switch {
		case makeups[d]:
			problems = append(problems, fmt.Errorf("make-up working day %s is listed twice", d))
		case holidays[d]:
			problems = append(problems, fmt.Errorf("%s is listed both as a holiday and as a make-up working day", d))
		}
		// Make-up days exist only to work a weekend day; a weekday in this
		// list is a typo, and would be mistaken for a day that is worked anyway.
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			problems = append(problems, fmt.Errorf("make-up working day %s is a %s, not a Saturday or Sunday", d, wd))
		}
		makeups[d] = true
	}

	if len(problems) > 0 {
		return fmt.Errorf("workday: schedule for %d: %w", s.Year, errors.Join(problems...))
	}
	return nil
}

// checkDate reports whether d, listed as a kind of day, is a real date in s.Year.
func (s Schedule) checkDate(kind string, d Date) error {
	if !d.IsValid() {
		return fmt.Errorf("%s %s is not a valid date", kind, d)
	}
	if d.Year != s.Year {
		return fmt.Errorf("%s %s is not in %d", kind, d, s.Year)
	}
	return nil
}

// clone returns a deep copy of s with its dates in calendar order, so that
// callers can neither alter a Calendar through a Schedule nor see the order
// it happened to be written in.
func (s Schedule) clone() Schedule {
	c := Schedule{
		Year:           s.Year,
		Holidays:       slices.Clone(s.Holidays),
		MakeupWorkdays: slices.Clone(s.MakeupWorkdays),
	}
	slices.SortFunc(c.Holidays, Date.Compare)
	slices.SortFunc(c.MakeupWorkdays, Date.Compare)
	return c
}

// ParseSchedules reads a schedule file (the layout of the embedded
// schedules/cn.json: an object with a "schedules" list) and validates every
// year in it. Unknown fields are rejected, so that a misspelt key such as
// "makeup_workday" is an error rather than a year without make-up days.
func ParseSchedules(r io.Reader) ([]Schedule, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f scheduleFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("workday: reading schedules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("workday: reading schedules: unexpected data after the schedule object")
	}
	if len(f.Schedules) == 0 {
		return nil, errors.New("workday: reading schedules: no schedules listed")
	}
	if err := validateAll(f.Schedules); err != nil {
		return nil, err
	}
	return f.Schedules, nil
}

// validateAll validates each schedule and rejects a year given twice.
func validateAll(schedules []Schedule) error {
	var problems []error
	seen := make(map[int]bool, len(schedules))
	for _, s := range schedules {
		if seen[s.Year] {
			problems = append(problems, fmt.Errorf("workday: schedule for %d is given twice", s.Year))
		}
		seen[s.Year] = true
		if err := s.Validate(); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}
