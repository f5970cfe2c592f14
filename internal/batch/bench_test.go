package batch

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// benchGroups returns what the population query returns for n objects of
// one item in 40 strata (risk × region), keys in no order.
func benchGroups(n int) (*rules, []group) {
	r := &rules{
		Rules: Rules{Exclusions: ExclusionRules{WindowDays: ptr(365)}},
		items: []item{{ItemRef: ItemRef{Code: "ZR-01", Version: 1}, DefaultRatio: "0.01"}},
		keys:  []stratumKey{{name: "risk"}, {name: "region"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	byCell := map[[2]int][]string{}
	for i := range n {
		c := [2]int{rng.IntN(4), rng.IntN(10)}
		byCell[c] = append(byCell[c], fmt.Sprintf("913304%010dMA", (i*2654435761)%4294967311))
	}
	var groups []group
	for c, keys := range byCell {
		region := fmt.Sprint(330400 + c[1])
		groups = append(groups, group{
			values: []string{[]string{"low", "normal", "raised", "high"}[c[0]], region}, region: region,
			counts: [4]int{len(keys)}, keys: [4]string{strings.Join(keys, "\n")},
		})
	}
	return r, groups
}

// The in-memory steps of a freeze and a draw of 900,000 objects, without
// the database: `go test -run '^$' -bench InMemory ./internal/batch`.
func BenchmarkInMemory(b *testing.B) {
	r, groups := benchGroups(900_000)
	// A fixed freeze day: the exclusion window counts back from it.
	frozen := time.Date(2026, time.December, 3, 9, 0, 0, 0, time.UTC)
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			buildPopulation(r, groups, true, frozen)
		}
	})
	p := buildPopulation(r, groups, true, frozen)
	b.Run("merge", func(b *testing.B) {
		for b.Loop() {
			mergeRuns(p.runs, p.size)
		}
	})
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			if _, err := draw.PopulationHash(mergeRuns(p.runs, p.size)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("draw", func(b *testing.B) {
		for b.Loop() {
			if _, err := draw.Draw([32]byte{1}, concatRuns(p.runs, p.size), p.quotas); err != nil {
				b.Fatal(err)
			}
		}
	})
}
