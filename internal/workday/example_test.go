package workday_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func ExampleCalendar_AddWorkingDays() {
	cal := workday.Default()
	// An inspection completed at 18:00 on 24 September 2025, China time;
	// results are due within 15 working days.
	done := time.Date(2025, 9, 24, 10, 0, 0, 0, time.UTC)
	due, err := cal.AddWorkingDays(workday.DateOf(done), 15)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("due", due)

	late, _ := cal.WorkingDaysBetween(due, workday.Date{Year: 2025, Month: time.October, Day: 23})
	fmt.Println("entered on 2025-10-23:", late, "working days late")

	_, err = cal.AddWorkingDays(workday.Date{Year: 2026, Month: time.December, Day: 20}, 15)
	var unscheduled *workday.UnscheduledYearError
	if errors.As(err, &unscheduled) {
		fmt.Println("cannot compute: no schedule for", unscheduled.Year)
	}
	// Output:
	// due 2025-10-21
	// entered on 2025-10-23: 2 working days late
	// cannot compute: no schedule for 2027
}
