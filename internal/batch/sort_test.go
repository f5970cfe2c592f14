package batch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{0, 1, 2, 3, 5, 8, 40, 41} {
		keys := map[cell][]string{}
		var all []draw.Entry
		for i := range k {
			c := cell{fmt.Sprintf("item=X;n=%02d", i), "330402"}
			n := 1 + rng.IntN(50)
			for range n {
				key := fmt.Sprintf("%x", rng.Uint64()) // keys of different lengths
				keys[c] = append(keys[c], key)
				all = append(all, draw.Entry{ObjectKey: key, Stratum: c.label})
			}
		}
		slices.SortFunc(all, func(a, b draw.Entry) int {
			return map[bool]int{true: -1, false: 1}[a.ObjectKey < b.ObjectKey]
		})
		runs := newRuns(keys)
		if k > 0 {
			runs = append(runs, run{label: "empty"}) // an exhausted run from the start
		}
		got := mergeRuns(runs, len(all))
		if !slices.Equal(got, all) {
			t.Fatalf("%d runs: merged %v, want %v", k, got, all)
		}
	}
}
