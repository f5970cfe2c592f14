package workday

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// d parses a YYYY-MM-DD date for tests.
func d(t testing.TB, s string) Date {
	t.Helper()
	date, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return date
}

func TestAddWorkingDays(t *testing.T) {
	tests := []struct {
		name  string
		start string
		n     int
		want  string
	}{
		// The worked examples of DOMAIN.md, section "Working days".
		{"domain: across National Day 2025", "2025-09-24", 15, "2025-10-21"},
		{"domain: across Spring Festival 2026", "2026-02-10", 15, "2026-03-09"},
		{"domain: across Mid-Autumn and National Day 2026", "2026-09-17", 20, "2026-10-21"},

		{"ordinary week", "2025-03-03", 5, "2025-03-10"},
		{"from a Friday", "2025-03-07", 1, "2025-03-10"},
		{"from a Sunday", "2025-03-09", 1, "2025-03-10"},
		// 9/25–27 off, 9/28–30 worked, 10/1–7 off.
		{"into National Day 2026", "2026-09-24", 4, "2026-10-08"},
		{"last day before National Day 2026", "2026-09-30", 1, "2026-10-08"},
		{"make-up Saturday after National Day 2026", "2026-09-24", 6, "2026-10-10"},
		{"make-up Saturday 2025-02-08", "2025-02-07", 1, "2025-02-08"},
		{"make-up Sunday 2025-09-28", "2025-09-26", 1, "2025-09-28"},
		{"make-up Sunday across the new year", "2025-12-31", 1, "2026-01-04"},
		{"start on a holiday", "2025-10-01", 1, "2025-10-09"},
		{"start on a make-up day", "2025-10-11", 1, "2025-10-13"},
		// A weekend inside a holiday block is a day off even if listed.
		{"across Spring Festival 2024", "2024-02-08", 2, "2024-02-18"},
		{"n = 0 is the start day", "2025-09-24", 0, "2025-09-24"},
		{"n = 0 on a holiday is still the start day", "2025-10-03", 0, "2025-10-03"},
		// Nothing after the start is counted, so no schedule is needed.
		{"n = 0 in an unscheduled year", "2027-03-01", 0, "2027-03-01"},
		{"last scheduled working day", "2026-12-30", 1, "2026-12-31"},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AddWorkingDays(d(t, tt.start), tt.n)
			if err != nil {
				t.Fatalf("AddWorkingDays(%s, %d): %v", tt.start, tt.n, err)
			}
			if got.String() != tt.want {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.start, tt.n, got, tt.want)
			}
		})
	}
}

func TestAddWorkingDaysUnscheduledYear(t *testing.T) {
	tests := []struct {
		start    string
		n        int
		wantYear int
	}{
		// 2026-12-21..31 hold 9 working days; the 10th would be in 2027.
		{"2026-12-20", 15, 2027},
		{"2026-12-20", 10, 2027},
		{"2026-12-31", 1, 2027},
		// The first day counted is in 2023, which has no schedule either.
		{"2023-12-29", 1, 2023},
	}
	c := Default()
	for _, tt := range tests {
		got, err := c.AddWorkingDays(d(t, tt.start), tt.n)
		var unscheduled *UnscheduledYearError
		if !errors.As(err, &unscheduled) {
			t.Errorf("AddWorkingDays(%s, %d) = %v, %v; want an *UnscheduledYearError", tt.start, tt.n, got, err)
			continue
		}
		if unscheduled.Year != tt.wantYear {
			t.Errorf("AddWorkingDays(%s, %d): unscheduled year %d, want %d", tt.start, tt.n, unscheduled.Year, tt.wantYear)
		}
		if got != (Date{}) {
			t.Errorf("AddWorkingDays(%s, %d) returned date %v along with its error", tt.start, tt.n, got)
		}
		if !strings.Contains(err.Error(), tt.start) {
			t.Errorf("error %q does not name the start date", err)
		}
	}
	// Nine working days remain in 2026, so this one still fits.
	if got, err := c.AddWorkingDays(d(t, "2026-12-20"), 9); err != nil || got.String() != "2026-12-31" {
		t.Errorf("AddWorkingDays(2026-12-20, 9) = %v, %v; want 2026-12-31", got, err)
	}
}

func TestAddWorkingDaysBadInput(t *testing.T) {
	c := Default()
	if _, err := c.AddWorkingDays(d(t, "2025-01-02"), -1); err == nil {
		t.Error("negative n: no error")
	}
	if _, err := c.AddWorkingDays(Date{2025, time.February, 29}, 1); err == nil {
		t.Error("invalid start: no error")
	}
}

func TestIsWorkingDay(t *testing.T) {
	tests := []struct {
		date string
		want bool
	}{
		{"2025-10-08", false}, // holiday on a Wednesday
		{"2025-10-09", true},
		{"2025-10-11", true},  // make-up Saturday
		{"2025-10-12", false}, // ordinary Sunday
		{"2025-10-18", false}, // ordinary Saturday
		{"2024-02-10", false}, // Saturday listed inside the Spring Festival block
		{"2024-02-18", true},  // make-up Sunday
		{"2026-01-04", true},  // make-up Sunday
		{"2026-06-19", false}, // Dragon Boat Festival, a Friday
		{"2024-12-31", true},
	}
	c := Default()
	for _, tt := range tests {
		got, err := c.IsWorkingDay(d(t, tt.date))
		if err != nil || got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, %v; want %v", tt.date, got, err, tt.want)
		}
	}
	_, err := c.IsWorkingDay(d(t, "2027-01-04"))
	var unscheduled *UnscheduledYearError
	if !errors.As(err, &unscheduled) || unscheduled.Year != 2027 {
		t.Errorf("IsWorkingDay(2027-01-04): error %v, want *UnscheduledYearError for 2027", err)
	}
	if _, err := c.IsWorkingDay(Date{}); err == nil {
		t.Error("IsWorkingDay(zero Date): no error")
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"same day", "2025-10-21", "2025-10-21", 0},
		{"b before a", "2025-10-21", "2025-10-01", 0},
		{"one day late", "2025-10-21", "2025-10-22", 1},
		{"late on a Saturday only", "2025-10-17", "2025-10-18", 0},
		{"late over a weekend", "2025-10-17", "2025-10-20", 1},
		{"over National Day 2025", "2025-09-30", "2025-10-09", 1},
		{"to a make-up Sunday", "2025-09-26", "2025-09-28", 1},
		{"domain example inverted", "2025-09-24", "2025-10-21", 15},
		{"domain example inverted, Spring Festival", "2026-02-10", "2026-03-09", 15},
		{"domain example inverted, National Day", "2026-09-17", "2026-10-21", 20},
		{"across the new year", "2025-12-30", "2026-01-05", 3}, // 12/31, 1/4 make-up, 1/5
		// Whole years, counted by hand from the schedules: weekdays, less
		// holidays on weekdays, plus make-up days.
		{"all of 2024", "2023-12-31", "2024-12-31", 262 - 19 + 8},
		{"all of 2025", "2024-12-31", "2025-12-31", 261 - 18 + 5},
		{"all of 2026", "2025-12-31", "2026-12-31", 261 - 19 + 6},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.WorkingDaysBetween(d(t, tt.a), d(t, tt.b))
			if err != nil || got != tt.want {
				t.Errorf("WorkingDaysBetween(%s, %s) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
}

func TestWorkingDaysBetweenUnscheduledYear(t *testing.T) {
	c := Default()
	_, err := c.WorkingDaysBetween(d(t, "2026-12-15"), d(t, "2027-01-10"))
	var unscheduled *UnscheduledYearError
	if !errors.As(err, &unscheduled) || unscheduled.Year != 2027 {
		t.Errorf("error %v, want *UnscheduledYearError for 2027", err)
	}
	// A range that ends in a scheduled year needs nothing beyond it, and an
	// empty range needs nothing at all.
	if n, err := c.WorkingDaysBetween(d(t, "2023-12-31"), d(t, "2024-01-02")); err != nil || n != 1 {
		t.Errorf("WorkingDaysBetween(2023-12-31, 2024-01-02) = %d, %v; want 1", n, err)
	}
	if n, err := c.WorkingDaysBetween(d(t, "2027-05-01"), d(t, "2027-05-01")); err != nil || n != 0 {
		t.Errorf("WorkingDaysBetween on an empty range in 2027 = %d, %v; want 0", n, err)
	}
	if _, err := c.WorkingDaysBetween(Date{2025, 2, 30}, d(t, "2025-03-01")); err == nil {
		t.Error("invalid date: no error")
	}
}

// TestAddAndBetweenAgree checks, for every start day and short count in the
// scheduled years, that WorkingDaysBetween inverts AddWorkingDays and that a
// deadline always falls on a working day.
func TestAddAndBetweenAgree(t *testing.T) {
	c := Default()
	for start := d(t, "2024-01-01"); start.Before(d(t, "2026-11-01")); start = start.AddDays(1) {
		for n := 0; n <= 25; n++ {
			end, err := c.AddWorkingDays(start, n)
			if err != nil {
				t.Fatalf("AddWorkingDays(%s, %d): %v", start, n, err)
			}
			got, err := c.WorkingDaysBetween(start, end)
			if err != nil || got != n {
				t.Fatalf("WorkingDaysBetween(%s, AddWorkingDays(%s, %d) = %s) = %d, %v", start, start, n, end, got, err)
			}
			if n == 0 {
				continue
			}
			if ok, _ := c.IsWorkingDay(end); !ok {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, which is not a working day", start, n, end)
			}
			if before, _ := c.WorkingDaysBetween(start, end.AddDays(-1)); before != n-1 {
				t.Fatalf("AddWorkingDays(%s, %d) = %s is not the first day with %d working days", start, n, end, n)
			}
		}
	}
}

func TestNewCalendarAndWith(t *testing.T) {
	y2027 := Schedule{
		Year:           2027,
		Holidays:       []Date{{2027, time.January, 1}},
		MakeupWorkdays: []Date{{2027, time.January, 3}}, // a Sunday
	}
	base := Default()
	next, err := base.With(y2027)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := next.Years(), []int{2024, 2025, 2026, 2027}; !slices.Equal(got, want) {
		t.Errorf("Years() = %v, want %v", got, want)
	}
	if got, err := next.AddWorkingDays(d(t, "2026-12-31"), 1); err != nil || got.String() != "2027-01-03" {
		t.Errorf("with 2027: AddWorkingDays(2026-12-31, 1) = %v, %v; want 2027-01-03", got, err)
	}
	// The default calendar is shared and must not have changed.
	if _, err := base.AddWorkingDays(d(t, "2026-12-31"), 1); err == nil {
		t.Error("Default() was modified by With")
	}
	if got := Default().Years(); !slices.Equal(got, []int{2024, 2025, 2026}) {
		t.Errorf("Default().Years() = %v", got)
	}

	// A corrected year replaces the old one entirely: 2025-10-08 becomes a
	// working day and 2025-10-11 an ordinary Saturday.
	s2025, _ := base.Schedule(2025)
	corrected := Schedule{Year: 2025, Holidays: s2025.Holidays[:len(s2025.Holidays)-1]}
	fixed, err := base.With(corrected)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := fixed.IsWorkingDay(d(t, "2025-10-08")); !ok {
		t.Error("after correction 2025-10-08 is still a holiday")
	}
	if ok, _ := fixed.IsWorkingDay(d(t, "2025-10-11")); ok {
		t.Error("after correction 2025-10-11 is still a make-up day")
	}

	if _, err := NewCalendar(y2027, y2027); err == nil || !strings.Contains(err.Error(), "2027 is given twice") {
		t.Errorf("NewCalendar with a year twice: %v", err)
	}
	if _, err := base.With(Schedule{Year: 2027}); err == nil {
		t.Error("With accepted an invalid schedule")
	}

	// A zero Calendar knows no year.
	var empty Calendar
	var unscheduled *UnscheduledYearError
	if _, err := empty.IsWorkingDay(d(t, "2025-01-02")); !errors.As(err, &unscheduled) {
		t.Errorf("zero Calendar: %v", err)
	}
	if c, err := empty.With(y2027); err != nil || !slices.Equal(c.Years(), []int{2027}) {
		t.Errorf("zero Calendar With: %v, %v", c, err)
	}
}

func TestScheduleIsACopy(t *testing.T) {
	s, ok := Default().Schedule(2025)
	if !ok {
		t.Fatal("no 2025 schedule")
	}
	s.Holidays[0] = Date{2025, time.March, 3}
	if ok, _ := Default().IsWorkingDay(d(t, "2025-03-03")); !ok {
		t.Error("changing a returned Schedule changed the calendar")
	}
	if _, ok := Default().Schedule(2030); ok {
		t.Error("Schedule(2030) found a schedule")
	}
}
