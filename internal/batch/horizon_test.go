package batch

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// The shipped calendar has 2024–2026: a batch whose period ends in
// December 2026 reaches 2027 with its result-entry days, one ending in
// October does not; a year its tasks recorded counts only while it is
// still missing.
func TestHorizonMissingYear(t *testing.T) {
	cal := workday.Default()
	date := func(s string) *workday.Date {
		d, err := workday.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	cases := []struct {
		name string
		h    Horizon
		want int
	}{
		{"period ends 2026-10-20", Horizon{InspectionEnd: date("2026-10-20")}, 0},
		{"period ends 2026-12-03: results due 2026-12-24", Horizon{InspectionEnd: date("2026-12-03")}, 0},
		{"period ends 2026-12-15: results due in 2027", Horizon{InspectionEnd: date("2026-12-15")}, 2027},
		{"the batch's own result days", Horizon{InspectionEnd: date("2026-12-03"), ResultEntryDays: 30}, 2027},
		{"a task recorded 2027", Horizon{InspectionEnd: date("2026-06-30"), TaskUnscheduled: 2027}, 2027},
		{"a task recorded 2025, which has a schedule", Horizon{InspectionEnd: date("2026-06-30"), TaskUnscheduled: 2025}, 0},
		{"no period yet", Horizon{}, 0},
	}
	for _, c := range cases {
		if got := c.h.MissingYear(cal, 15); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
