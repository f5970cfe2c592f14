package activities

import (
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestDueDate(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	d := &Deadlines{Calendars: StaticCalendar{workday.Default()}}
	env.RegisterActivity(d)

	cases := []struct {
		start       string
		n           int
		due         string
		unscheduled int
	}{
		{"2025-09-24", 15, "2025-10-21", 0}, // DOMAIN.md worked example across 国庆 2025
		{"2026-09-17", 20, "2026-10-21", 0}, // across 中秋 and 国庆 2026
		{"2026-12-20", 15, "", 2027},        // reaches 2027, no schedule yet
	}
	for _, c := range cases {
		start, err := workday.ParseDate(c.start)
		if err != nil {
			t.Fatal(err)
		}
		v, err := env.ExecuteActivity(d.Plan, PlanInput{Start: &start, WorkingDays: c.n})
		if err != nil {
			t.Fatalf("%s + %d: %v", c.start, c.n, err)
		}
		var got Plan
		if err := v.Get(&got); err != nil {
			t.Fatal(err)
		}
		if got.Unscheduled != c.unscheduled || (c.unscheduled != 0) != (got.Due == nil) {
			t.Errorf("%s + %d: unscheduled = %d, want %d", c.start, c.n, got.Unscheduled, c.unscheduled)
		}
		if c.due != "" && (got.Due == nil || got.Due.String() != c.due) {
			t.Errorf("%s + %d = %s, want %s", c.start, c.n, got.Due, c.due)
		}
	}

	start, _ := workday.ParseDate("2026-03-02")
	if _, err := env.ExecuteActivity(d.Plan, PlanInput{Start: &start, WorkingDays: -1}); err == nil {
		t.Error("negative working days accepted")
	}
}
