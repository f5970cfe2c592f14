package batch

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// A Simulation is a dry run of draw rules for a coordinator: what a batch
// created with them now would draw from, stratum by stratum.
type Simulation struct {
	Population int      `json:"population"` // objects that would be drawn from
	Quota      int      `json:"quota"`      // objects that would be drawn
	Excluded   Excluded `json:"excluded"`
	// WindowFrom is the first day of the no-repeat window, if it is on.
	WindowFrom string             `json:"window_from,omitempty"`
	Strata     []SimulatedStratum `json:"strata"`
	Warnings   []string           `json:"warnings,omitempty"`
}

// A SimulatedStratum is one stratum of a Simulation. A stratum whose
// objects are all left out is listed with population 0 and no rule: it
// would not be part of the draw.
type SimulatedStratum struct {
	Label      string      `json:"label"`
	Population int         `json:"population"`
	Quota      int         `json:"quota"`
	Rule       *draw.Quota `json:"rule,omitempty"`
	Excluded   Excluded    `json:"excluded"`
}

// Simulate validates rules as Create does and returns, per stratum, the
// population, the quota and the objects left out by reason, as a freeze
// now would find them. It writes nothing: it runs in a read-only
// transaction.
func (s *Service) Simulate(ctx context.Context, rules Rules) (Simulation, error) {
	var sim Simulation
	err := s.inTx(ctx, &sql.TxOptions{ReadOnly: true}, func(tx *sqlx.Tx) error {
		r, err := checkRules(ctx, tx, "rules", rules)
		if err != nil {
			return err
		}
		now := s.now()
		groups, err := queryGroups(ctx, tx, r, "", now, keysFor(r, noKeys), wholeTable)
		if err != nil {
			return err
		}
		sim = summarize(r, groups, now)
		return nil
	})
	return sim, err
}

// summarize counts the population and the exclusions of groups per
// stratum.
func summarize(r *rules, groups []group, now time.Time) Simulation {
	sim := Simulation{Strata: []SimulatedStratum{}}
	strata := map[string]*SimulatedStratum{}
	at := func(label string) *SimulatedStratum {
		st := strata[label]
		if st == nil {
			st = &SimulatedStratum{Label: label}
			strata[label] = st
		}
		return st
	}
	windowOn := *r.Exclusions.WindowDays > 0
	quotas := map[string]draw.Quota{}
	if len(r.items) > 1 {
		p := buildPopulation(r, groups, windowOn, now)
		for _, r := range p.runs {
			at(r.label).Population += len(r.keys)
		}
		for _, ex := range p.exclusions.Strata {
			at(ex.Label).Excluded = ex.Excluded
		}
		quotas = p.quotas
		sim.Excluded = p.exclusions.Total
	} else {
		for _, g := range groups {
			label := r.label(r.items[g.item], g.values)
			st := at(label)
			st.Population += g.counts[eligible]
			if g.counts[eligible] > 0 {
				quotas[label] = r.quotaFor(r.items[g.item], g.values)
			}
			for why := recentlyInspected; why <= inOpenBatch; why++ {
				st.Excluded.add(why, g.counts[why])
				sim.Excluded.add(why, g.counts[why])
			}
		}
	}
	for _, label := range slices.Sorted(maps.Keys(strata)) {
		st := strata[label]
		if st.Population > 0 {
			q := quotas[label]
			st.Rule = &q
			st.Quota, _ = q.Size(st.Population)
		}
		sim.Population += st.Population
		sim.Quota += st.Quota
		sim.Strata = append(sim.Strata, *st)
	}
	if windowOn {
		sim.WindowFrom = windowFrom(now, *r.Exclusions.WindowDays).Format(time.DateOnly)
	}
	if sim.Population == 0 {
		sim.Warnings = append(sim.Warnings, "the population is empty: a batch cannot be created with these rules")
	}
	return sim
}
