package workday

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// officialSchedules is DOMAIN.md's table of official schedules, written out
// again by hand in the table's own notation so that the embedded data file is
// checked against an independent copy.
var officialSchedules = map[int]struct{ off, makeup string }{
	2024: {
		off:    "1/1; 2/10–17; 4/4–6; 5/1–5; 6/10; 9/15–17; 10/1–7",
		makeup: "2/4, 2/18, 4/7, 4/28, 5/11, 9/14, 9/29, 10/12",
	},
	2025: {
		off:    "1/1; 1/28–2/4; 4/4–6; 5/1–5; 5/31–6/2; 10/1–8",
		makeup: "1/26, 2/8, 4/27, 9/28, 10/11",
	},
	2026: {
		off:    "1/1–3; 2/15–23; 4/4–6; 5/1–5; 6/19–21; 9/25–27; 10/1–7",
		makeup: "1/4, 2/14, 2/28, 5/9, 9/20, 10/10",
	},
}

// expandDays expands the table notation of DOMAIN.md ("1/1; 1/28–2/4" or
// "2/4, 2/18") into the dates of year, in order.
func expandDays(year int, list string) ([]Date, error) {
	var dates []Date
	for _, item := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ',' }) {
		item = strings.TrimSpace(item)
		from, to, isRange := strings.Cut(item, "–")
		first, err := monthDay(year, from, 0)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		last := first
		if isRange {
			// "2/10–17" continues in the same month; "1/28–2/4" names its own.
			if last, err = monthDay(year, to, first.Month); err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
		}
		if last.Before(first) {
			return nil, fmt.Errorf("%q: range runs backwards", item)
		}
		for d := first; !d.After(last); d = d.AddDays(1) {
			dates = append(dates, d)
		}
	}
	return dates, nil
}

// monthDay parses "M/D", or "D" alone when month is given.
func monthDay(year int, s string, month time.Month) (Date, error) {
	m, day, hasMonth := strings.Cut(s, "/")
	if !hasMonth {
		day = m
	} else {
		n, err := strconv.Atoi(m)
		if err != nil {
			return Date{}, err
		}
		month = time.Month(n)
	}
	n, err := strconv.Atoi(day)
	if err != nil {
		return Date{}, err
	}
	d := Date{year, month, n}
	if !d.IsValid() {
		return Date{}, fmt.Errorf("invalid date %s", d)
	}
	return d, nil
}

// checkAgainst compares the default calendar's schedule for year with the
// given lists in DOMAIN.md notation, date for date in both directions.
func checkAgainst(t *testing.T, year int, off, makeup string) {
	t.Helper()
	wantOff, err := expandDays(year, off)
	if err != nil {
		t.Fatal(err)
	}
	wantMakeup, err := expandDays(year, makeup)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := Default().Schedule(year)
	if !ok {
		t.Fatalf("schedules/cn.json has no schedule for %d", year)
	}
	compareDates(t, fmt.Sprintf("%d days off", year), got.Holidays, wantOff)
	compareDates(t, fmt.Sprintf("%d make-up working days", year), got.MakeupWorkdays, wantMakeup)
}

func compareDates(t *testing.T, what string, got, want []Date) {
	t.Helper()
	for _, d := range want {
		if !slices.Contains(got, d) {
			t.Errorf("%s: %s is missing from schedules/cn.json", what, d)
		}
	}
	for _, d := range got {
		if !slices.Contains(want, d) {
			t.Errorf("%s: schedules/cn.json has %s, which the official schedule does not", what, d)
		}
	}
}

func TestDefaultScheduleMatchesOfficial(t *testing.T) {
	if got := Default().Years(); !slices.Equal(got, []int{2024, 2025, 2026}) {
		t.Errorf("Default().Years() = %v, want [2024 2025 2026]", got)
	}
	for year, want := range officialSchedules {
		checkAgainst(t, year, want.off, want.makeup)
	}
}

func TestScheduleValidate(t *testing.T) {
	ok := Schedule{
		Year:           2025,
		Holidays:       []Date{{2025, time.October, 1}, {2025, time.October, 2}},
		MakeupWorkdays: []Date{{2025, time.September, 28}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid schedule: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Schedule)
		want string
	}{
		{"holiday also make-up day", func(s *Schedule) {
			s.MakeupWorkdays = append(s.MakeupWorkdays, Date{2025, time.October, 4})
			s.Holidays = append(s.Holidays, Date{2025, time.October, 4})
		}, "2025-10-04 is listed both as a holiday and as a make-up working day"},
		{"make-up day on a weekday", func(s *Schedule) {
			s.MakeupWorkdays = append(s.MakeupWorkdays, Date{2025, time.September, 29})
		}, "make-up working day 2025-09-29 is a Monday, not a Saturday or Sunday"},
		{"holiday in another year", func(s *Schedule) {
			s.Holidays = append(s.Holidays, Date{2026, time.January, 1})
		}, "holiday 2026-01-01 is not in 2025"},
		{"make-up day in another year", func(s *Schedule) {
			s.MakeupWorkdays = append(s.MakeupWorkdays, Date{2024, time.December, 28})
		}, "make-up working day 2024-12-28 is not in 2025"},
		{"duplicate holiday", func(s *Schedule) {
			s.Holidays = append(s.Holidays, Date{2025, time.October, 2})
		}, "holiday 2025-10-02 is listed twice"},
		{"duplicate make-up day", func(s *Schedule) {
			s.MakeupWorkdays = append(s.MakeupWorkdays, Date{2025, time.September, 28})
		}, "make-up working day 2025-09-28 is listed twice"},
		{"invalid date", func(s *Schedule) {
			s.Holidays = append(s.Holidays, Date{2025, time.February, 29})
		}, "holiday 2025-02-29 is not a valid date"},
		{"no holidays", func(s *Schedule) { s.Holidays = nil }, "no holidays listed"},
		{"year out of range", func(s *Schedule) {
			s.Year = 0
			s.Holidays, s.MakeupWorkdays = []Date{{0, 1, 1}}, nil
		}, "year 0 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok.clone()
			tt.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestScheduleValidateReportsEveryProblem(t *testing.T) {
	s := Schedule{
		Year:           2025,
		Holidays:       []Date{{2025, time.October, 1}, {2024, time.October, 1}},
		MakeupWorkdays: []Date{{2025, time.October, 1}, {2025, time.October, 9}},
	}
	err := s.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"schedule for 2025", "2024-10-01 is not in 2025", "2025-10-01 is listed both", "2025-10-09 is a Thursday"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestParseSchedules(t *testing.T) {
	good := `{"source": "test", "schedules": [
		{"year": 2027, "holidays": ["2027-01-01"], "makeup_workdays": ["2027-01-03"]}
	]}`
	got, err := ParseSchedules(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{Year: 2027, Holidays: []Date{{2027, 1, 1}}, MakeupWorkdays: []Date{{2027, 1, 3}}}
	if len(got) != 1 || got[0].Year != want.Year || !slices.Equal(got[0].Holidays, want.Holidays) || !slices.Equal(got[0].MakeupWorkdays, want.MakeupWorkdays) {
		t.Errorf("ParseSchedules = %+v, want [%+v]", got, want)
	}

	bad := []struct {
		name, in, want string
	}{
		{"misspelt key", `{"schedules": [{"year": 2027, "holidays": ["2027-01-01"], "makeup_workday": ["2027-01-03"]}]}`, "makeup_workday"},
		{"impossible date", `{"schedules": [{"year": 2027, "holidays": ["2027-02-29"]}]}`, `"2027-02-29"`},
		{"wrong date format", `{"schedules": [{"year": 2027, "holidays": ["2027/01/01"]}]}`, `"2027/01/01"`},
		{"invalid schedule", `{"schedules": [{"year": 2027, "holidays": ["2027-01-01"], "makeup_workdays": ["2027-01-01"]}]}`, "2027-01-01 is listed both"},
		{"year twice", `{"schedules": [{"year": 2027, "holidays": ["2027-01-01"]}, {"year": 2027, "holidays": ["2027-01-02"]}]}`, "2027 is given twice"},
		{"no schedules", `{"schedules": []}`, "no schedules"},
		{"trailing data", `{"schedules": [{"year": 2027, "holidays": ["2027-01-01"]}]} {}`, "unexpected data"},
		{"not JSON", `year: 2027`, "reading schedules"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchedules(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSchedules: error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEmbeddedFileParses(t *testing.T) {
	f, err := os.Open(filepath.Join("schedules", "cn.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schedules, err := ParseSchedules(f)
	if err != nil {
		t.Fatalf("schedules/cn.json: %v", err)
	}
	if len(schedules) != 3 {
		t.Errorf("schedules/cn.json has %d years, want 3", len(schedules))
	}
}
