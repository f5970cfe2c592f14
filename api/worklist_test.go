package api

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Working days left count from today to the due day on the calendar: 0 on
// the day, negative once past; a weekend and a holiday do not count.
func TestWorkingDaysLeft(t *testing.T) {
	cal := workday.Default() // 2026: 1 to 7 October is the National Day holiday
	day := func(s string) workday.Date {
		d, err := workday.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		today, due string
		left       int
		urgency    string
	}{
		{"2026-12-03", "2026-12-03", 0, "due_soon"},
		{"2026-12-03", "2026-12-04", 1, "due_soon"},
		{"2026-12-04", "2026-12-07", 1, "due_soon"}, // Friday to Monday
		{"2026-12-03", "2026-12-10", 5, "due_soon"},
		{"2026-12-03", "2026-12-11", 6, "open"},
		{"2026-12-07", "2026-12-04", -1, "overdue"},
		{"2026-09-30", "2026-10-09", 2, "due_soon"}, // across the holiday: 10-08 and 10-09
	} {
		left, err := workingDaysLeft(cal, day(c.today), day(c.due))
		if err != nil || left != c.left {
			t.Errorf("%s to %s: %d %v, want %d", c.today, c.due, left, err, c.left)
		}
		if u := urgency(false, &left); u != c.urgency {
			t.Errorf("%s to %s: urgency %s, want %s", c.today, c.due, u, c.urgency)
		}
	}
	if u := urgency(true, new(int)); u != "overdue" {
		t.Errorf("flagged overdue: %s", u)
	}
	if u := urgency(false, nil); u != "open" {
		t.Errorf("no count: %s", u)
	}
	if _, err := workingDaysLeft(cal, day("2026-12-30"), day("2031-01-05")); err == nil {
		t.Error("a year without a schedule counted")
	}
}
