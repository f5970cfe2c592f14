package stats

import (
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

// The phases a stored state implies are the batch workflow's own
// (workflows/batch.go); every state the schema allows has one.
func TestBatchPhase(t *testing.T) {
	want := map[string]string{
		"committed": "freezing", "frozen": "awaiting_beacon", "drawn": "drawing", "locked": "counties",
		"in_progress": "counties", "published": "archiving", "archived": "archived", "cancelled": "cancelled",
	}
	for state, phase := range want {
		if got := BatchPhase(state); got != phase {
			t.Errorf("BatchPhase(%q) = %q, want %q", state, got, phase)
		}
	}
	if got := BatchPhase("nonsense"); got != "" {
		t.Errorf("an unknown state has phase %q", got)
	}
}

func TestCountyPhase(t *testing.T) {
	stages := func(m map[inspection.Stage]int) CountyProgress {
		c := CountyProgress{Stages: m}
		for _, n := range m {
			c.Objects += n
		}
		return c
	}
	cases := []struct {
		c    CountyProgress
		want string
	}{
		{stages(nil), "starting"},
		{stages(map[inspection.Stage]int{inspection.AwaitingMatch: 3}), "awaiting_match"},
		{stages(map[inspection.Stage]int{inspection.AwaitingMatch: 1, inspection.Assigned: 2}), "awaiting_match"},
		{stages(map[inspection.Stage]int{inspection.Assigned: 2, inspection.Closed: 1}), "tracking"},
		{stages(map[inspection.Stage]int{inspection.Closed: 3}), "done"},
	}
	for _, tc := range cases {
		if got := CountyPhase(tc.c); got != tc.want {
			t.Errorf("CountyPhase(%v) = %q, want %q", tc.c.Stages, got, tc.want)
		}
	}
}
