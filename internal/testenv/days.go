package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// A Day is a fixed "now" at which tests run the rules that depend on the
// date, through the clock the code under test takes (never the wall clock).
type Day struct {
	Name string
	Now  time.Time
}

var china = time.FixedZone("CST", 8*60*60)

// FixedDays are the days that break date arithmetic: the last minute of a
// year and the first of the next (China time; 2027 has no holiday schedule
// in the shipped calendar), a Saturday, the National Day holiday, and the
// day in December when a test with "today + 30 days" first reached into
// the next year.
var FixedDays = []Day{
	{"new-year's-eve-23:59", time.Date(2026, time.December, 31, 23, 59, 0, 0, china)},
	{"new-year's-day-00:01", time.Date(2027, time.January, 1, 0, 1, 0, 0, china)},
	{"saturday", time.Date(2026, time.December, 19, 10, 0, 0, 0, china)},
	{"national-day", time.Date(2026, time.October, 1, 9, 30, 0, 0, china)},
	{"early-december", time.Date(2026, time.December, 3, 15, 0, 0, 0, china)},
}

// Clock returns a clock that always reads t.
func Clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// UniqueID returns prefix, a dash and 8 random upper-case hex digits: a business ID no
// other test run shares, without reading the clock.
func UniqueID(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + "-" + strings.ToUpper(hex.EncodeToString(b[:]))
}
