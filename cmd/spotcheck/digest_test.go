package main

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/config"
)

// DIGEST_TIME is China time; the schedule's calendar is UTC.
func TestDigestScheduleInUTC(t *testing.T) {
	for _, tc := range []struct {
		at           string
		hour, minute int
	}{{"09:00", 1, 0}, {"07:30", 23, 30}, {"08:00", 0, 0}} {
		opts, err := digestSchedule(&config.Config{DigestTime: tc.at, TaskQueue: "q"})
		if err != nil {
			t.Fatal(err)
		}
		c := opts.Spec.Calendars[0]
		if c.Hour[0].Start != tc.hour || c.Minute[0].Start != tc.minute || opts.ID != "digest" {
			t.Errorf("%s: %+v", tc.at, c)
		}
	}
	if _, err := digestSchedule(&config.Config{DigestTime: "9点"}); err == nil {
		t.Error("a bad DIGEST_TIME was accepted")
	}
}
