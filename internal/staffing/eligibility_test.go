package staffing

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

func TestIneligible(t *testing.T) {
	end, _ := workday.ParseDate("2026-06-30")
	at := func(s string) *time.Time {
		d, _ := workday.ParseDate(s)
		v := d.Start()
		return &v
	}
	for _, c := range []struct {
		status string
		valid  *time.Time
		want   string
	}{
		{"active", at("2026-06-30"), ""},
		{"active", at("2027-01-01"), ""},
		{"active", at("2026-06-29"), IneligibleCertificate},
		{"active", nil, IneligibleCertificate},
		{"suspended", at("2027-01-01"), IneligibleStatus},
		{"retired", nil, IneligibleStatus},
	} {
		if got := Ineligible(c.status, c.valid, end); got != c.want {
			t.Errorf("Ineligible(%s, %v) = %q, want %q", c.status, c.valid, got, c.want)
		}
	}
}

func TestRecused(t *testing.T) {
	units := map[string]string{"A": "站1", "B": "站2", "C": "站1", "D": ""}
	facts := RecusalFacts{Conflicts: []string{"B"}, Previous: []string{"B", "D"}, Station: "站1", CrossStation: true}
	got := Recused(facts, units)
	want := map[string][]string{"A": {RecusedStation}, "B": {RecusedConflict, RecusedPrevious}, "C": {RecusedStation}, "D": {RecusedPrevious}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Recused = %v, want %v", got, want)
	}
	// Without cross-station checking the station recuses nobody; a
	// targeted case passes only its declared conflicts.
	facts.CrossStation = false
	if got := slices.Sorted(maps.Keys(Recused(facts, units))); !slices.Equal(got, []string{"B", "D"}) {
		t.Errorf("recused without cross-station = %v", got)
	}
	if got := Recused(RecusalFacts{Conflicts: []string{"A"}}, nil); !reflect.DeepEqual(got, map[string][]string{"A": {RecusedConflict}}) {
		t.Errorf("conflicts only = %v", got)
	}
}
