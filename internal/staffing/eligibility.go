package staffing

import (
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Why an inspector cannot be named for an inspection at all.
const (
	IneligibleStatus      = "status"      // not active (suspended, retired)
	IneligibleCertificate = "certificate" // no enforcement certificate valid through the period's end
)

// Ineligible is the one rule of who may inspect in a period ending end,
// whatever the object: an active inspector whose enforcement certificate
// (执法证) is valid through that day (a missing validity date is not valid).
// It returns why not, or "" when they may. The county match, its
// replacements and the teams of targeted cases all apply it.
func Ineligible(status string, certificateValidUntil *time.Time, end workday.Date) string {
	switch {
	case status != "active":
		return IneligibleStatus
	case certificateValidUntil == nil || workday.DateOf(*certificateValidUntil).Before(end):
		return IneligibleCertificate
	}
	return ""
}

// RecusalFacts are what decides who must not inspect one object (回避).
type RecusalFacts struct {
	// Conflicts are the inspectors who declared a conflict of interest
	// with the object.
	Conflicts []string
	// Previous is the team of the object's latest earlier inspection: the
	// random match rotates teams.
	Previous []string
	// Station is the object's own station; with CrossStation (an item
	// checked across stations) its members are recused.
	Station      string
	CrossStation bool
}

// Recused is the one rule of recusal: the inspectors recused from the
// object, each with its reasons (RecusedConflict, RecusedPrevious,
// RecusedStation). units gives the unit of each inspector considered.
func Recused(r RecusalFacts, units map[string]string) map[string][]string {
	recused := map[string][]string{}
	for _, k := range r.Conflicts {
		recused[k] = append(recused[k], RecusedConflict)
	}
	for _, k := range r.Previous {
		recused[k] = append(recused[k], RecusedPrevious)
	}
	if r.CrossStation && r.Station != "" {
		for k, unit := range units {
			if unit == r.Station {
				recused[k] = append(recused[k], RecusedStation)
			}
		}
	}
	return recused
}
