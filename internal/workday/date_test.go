package workday

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDateOf(t *testing.T) {
	tests := []struct {
		in   time.Time
		want Date
	}{
		// 16:30 UTC on 30 September is 00:30 on National Day in China.
		{time.Date(2025, 9, 30, 16, 30, 0, 0, time.UTC), Date{2025, time.October, 1}},
		{time.Date(2025, 9, 30, 15, 59, 59, 0, time.UTC), Date{2025, time.September, 30}},
		// The zone of the argument does not matter, only the instant.
		{time.Date(2025, 12, 31, 12, 0, 0, 0, time.FixedZone("EST", -5*60*60)), Date{2026, time.January, 1}},
	}
	for _, tt := range tests {
		if got := DateOf(tt.in); got != tt.want {
			t.Errorf("DateOf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDateStartRoundTrip(t *testing.T) {
	d := Date{2026, time.February, 14}
	start := d.Start()
	if got := DateOf(start); got != d {
		t.Errorf("DateOf(%v.Start()) = %v", d, got)
	}
	if got := DateOf(start.Add(-time.Nanosecond)); got != d.AddDays(-1) {
		t.Errorf("instant just before %v.Start() is on %v, want %v", d, got, d.AddDays(-1))
	}
	if want := time.Date(2026, 2, 13, 16, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("%v.Start() = %v, want %v", d, start.UTC(), want)
	}
}

func TestParseDate(t *testing.T) {
	d, err := ParseDate("2024-02-29")
	if err != nil || d != (Date{2024, time.February, 29}) {
		t.Errorf("ParseDate(2024-02-29) = %v, %v", d, err)
	}
	for _, s := range []string{"", "2025-02-29", "2025-2-3", "2025/02/03", "20250203", "2025-13-01", " 2025-02-03"} {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %v, want error", s, d)
		}
	}
}

func TestDateIsValid(t *testing.T) {
	valid := []Date{{2024, time.February, 29}, {1, time.January, 1}, {9999, time.December, 31}}
	invalid := []Date{{}, {2025, time.February, 29}, {2025, 13, 1}, {2025, time.April, 31}, {2025, time.May, 0}, {10000, time.January, 1}}
	for _, d := range valid {
		if !d.IsValid() {
			t.Errorf("%v.IsValid() = false", d)
		}
	}
	for _, d := range invalid {
		if d.IsValid() {
			t.Errorf("%v.IsValid() = true", d)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := Date{2024, time.December, 31}
	if got, want := d.AddDays(1), (Date{2025, time.January, 1}); got != want {
		t.Errorf("AddDays(1) = %v, want %v", got, want)
	}
	if got, want := (Date{2024, time.March, 1}).AddDays(-1), (Date{2024, time.February, 29}); got != want {
		t.Errorf("AddDays(-1) = %v, want %v", got, want)
	}
	if got := (Date{2025, time.October, 11}).Weekday(); got != time.Saturday {
		t.Errorf("2025-10-11 is a %v, want Saturday", got)
	}
	a, b := Date{2025, time.January, 31}, Date{2025, time.February, 1}
	if !a.Before(b) || a.After(b) || a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Errorf("ordering of %v and %v is wrong", a, b)
	}
}

func TestDateJSON(t *testing.T) {
	in := []Date{{2026, time.October, 10}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["2026-10-10"]` {
		t.Errorf("json.Marshal = %s", b)
	}
	var out []Date
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 1 || out[0] != in[0] {
		t.Errorf("json.Unmarshal(%s) = %v, %v", b, out, err)
	}
	if _, err := json.Marshal(Date{2025, time.February, 30}); err == nil {
		t.Error("json.Marshal of an invalid date succeeded")
	}
	if err := json.Unmarshal([]byte(`"2025-02-30"`), new(Date)); err == nil {
		t.Error("json.Unmarshal of 2025-02-30 succeeded")
	}
}
