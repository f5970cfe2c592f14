package batch

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

func benchGroups(n int) (*rules, []group) {
	r := &rules{Rules: Rules{Exclusions: ExclusionRules{WindowDays: ptr(365)}}, items: []item{{ItemRef: ItemRef{Code: "ZR-01", Version: 1}, DefaultRatio: "0.01"}},
		keys: []stratumKey{{name: "risk"}, {name: "region"}}}
	rng := rand.New(rand.NewPCG(1, 2))
	byG := map[[2]int][]string{}
	for range n {
		g := [2]int{rng.IntN(4), rng.IntN(10)}
		byG[g] = append(byG[g], fmt.Sprintf("913304%010dMA", rng.Uint64N(1e10)))
	}
	var groups []group
	for g, keys := range byG {
		groups = append(groups, group{values: []string{[]string{"low", "normal", "raised", "high"}[g[0]], fmt.Sprint(330400 + g[1])}, count: len(keys), keys: strings.Join(keys, "\n")})
	}
	return r, groups
}

func BenchmarkPipeline(b *testing.B) {
	r, groups := benchGroups(900_000)
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			buildPopulation(r, groups, true, ctxNow())
		}
	})
	p := buildPopulation(r, groups, true, ctxNow())
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			draw.PopulationHash(p.entries)
		}
	})
	b.Run("strata", func(b *testing.B) {
		for b.Loop() {
			if _, err := draw.Strata(p.entries, p.quotas); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strataKeys", func(b *testing.B) {
		for b.Loop() {
			strataKeys(p.entries)
		}
	})
	b.Run("draw", func(b *testing.B) {
		for b.Loop() {
			if _, err := draw.Draw([32]byte{1}, p.entries, p.quotas); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func ctxNow() time.Time { return time.Now() }
