package workday

import (
	"cmp"
	"fmt"
	"time"
)

// china is the zone in which deadlines are civil dates.
//
// A fixed UTC+8 offset rather than time.LoadLocation("Asia/Shanghai"): China
// has kept UTC+8 without daylight saving since 1991, so the two agree on every
// date this package deals with, and a fixed zone cannot fail at run time on a
// host or container that ships without the tz database.
var china = time.FixedZone("CST", 8*60*60)

// Date is a civil date in China: a day of the calendar, with no time of day
// and no zone. Deadlines are counted in such days, so they are kept apart from
// instants (time.Time), whose calendar day depends on the zone they are read
// in; use DateOf to take the China date of an instant.
//
// The zero Date is not a valid date. Date is comparable and may be used as a
// map key.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// dateLayout is the only text form of a Date (ISO 8601 calendar date).
const dateLayout = "2006-01-02"

// DateOf returns the civil date in China (UTC+8) of the instant t, whatever
// t's own location. An instant at 23:30 UTC is already the next day in China.
func DateOf(t time.Time) Date {
	y, m, d := t.In(china).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a date written as YYYY-MM-DD, such as "2025-10-01".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("workday: invalid date %q: want YYYY-MM-DD", s)
	}
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}, nil
}

// IsValid reports whether d names a real day of the Gregorian calendar
// between the years 1 and 9999 (so 2025-02-29 and the zero Date are invalid).
func (d Date) IsValid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	y, m, dd := d.midnightUTC().Date()
	return y == d.Year && m == d.Month && dd == d.Day
}

// String returns d as YYYY-MM-DD. Invalid dates are printed field by field,
// unnormalized, so that error messages show what was given.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return d.midnightUTC().Weekday()
}

// AddDays returns the date n calendar days after d (before d if n < 0).
func (d Date) AddDays(n int) Date {
	y, m, dd := d.midnightUTC().AddDate(0, 0, n).Date()
	return Date{Year: y, Month: m, Day: dd}
}

// Compare returns -1 if d is before e, 0 if they are the same day and +1 if d
// is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp.Compare(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp.Compare(d.Month, e.Month)
	default:
		return cmp.Compare(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Start returns the instant at which d begins in China (00:00 UTC+8). A
// deadline date D has passed at D.AddDays(1).Start().
func (d Date) Start() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, china)
}

// MarshalText encodes d as YYYY-MM-DD; JSON uses it, so dates are plain
// strings in schedule files and API payloads.
func (d Date) MarshalText() ([]byte, error) {
	if !d.IsValid() {
		return nil, fmt.Errorf("workday: cannot encode invalid date %s", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a date written as YYYY-MM-DD.
func (d *Date) UnmarshalText(text []byte) error {
	parsed, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// midnightUTC maps d onto the time line for calendar arithmetic. UTC is used
// because it has no offset changes, so adding days never lands on 23:00 or
// 01:00 of a neighbouring day.
func (d Date) midnightUTC() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}
