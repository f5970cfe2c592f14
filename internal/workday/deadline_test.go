package workday

import (
	"errors"
	"testing"
)

func TestDeadline(t *testing.T) {
	cal := Default()
	date := func(s string) Date {
		d, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// DOMAIN.md's worked example across 国庆 2025: 15 working days from
	// 2025-09-24 end on 2025-10-21; 5 working days before it is 10-14
	// (10-15..10-21 hold five), 1 working day before it 10-20.
	got, err := cal.Deadline(Term{Start: date("2025-09-24"), WorkingDays: 15, ReminderOffsets: []int{1, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Due == nil || got.Due.String() != "2025-10-21" || len(got.Reminders) != 2 ||
		got.Reminders[0].String() != "2025-10-14" || got.Reminders[1].String() != "2025-10-20" || got.Unscheduled != 0 {
		t.Fatalf("deadline %+v", got)
	}
	// A fixed due date: the reminder before the first working day of
	// October 2025 falls before the holiday.
	due := date("2025-10-09")
	got, err = cal.Deadline(Term{Due: &due, ReminderOffsets: []int{1}})
	if err != nil || got.Due.String() != "2025-10-09" || len(got.Reminders) != 1 || got.Reminders[0].String() != "2025-09-30" {
		t.Fatalf("fixed due date: %+v %v", got, err)
	}
	// A count into a year without a schedule is flagged, not computed.
	last := cal.Years()[len(cal.Years())-1]
	got, err = cal.Deadline(Term{Start: Date{Year: last, Month: 12, Day: 20}, WorkingDays: 15})
	if err != nil || got.Due != nil || got.Unscheduled != last+1 {
		t.Fatalf("into an unscheduled year: %+v %v", got, err)
	}
	// A reminder before the first scheduled year is flagged too, and the
	// due date still stands.
	first := Date{Year: cal.Years()[0], Month: 1, Day: 2}
	got, err = cal.Deadline(Term{Due: &first, ReminderOffsets: []int{5}})
	if err != nil || got.Due == nil || len(got.Reminders) != 0 || got.Unscheduled != first.Year-1 {
		t.Fatalf("a reminder in an unscheduled year: %+v %v", got, err)
	}
	for _, bad := range []Term{{WorkingDays: 3}, {Start: date("2026-03-02"), WorkingDays: -1}} {
		if _, err := cal.Deadline(bad); !errors.Is(err, ErrBadTerm) {
			t.Errorf("%+v: %v, want ErrBadTerm", bad, err)
		}
	}
}
