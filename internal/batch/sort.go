package batch

import (
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// sortEntries sorts entries by object key bytewise, the canonical order,
// sorting parts on all processors and merging them.
func sortEntries(entries []draw.Entry) {
	parts := min(runtime.GOMAXPROCS(0), len(entries)/(1<<15))
	if parts < 2 {
		slices.SortFunc(entries, compareKeys)
		return
	}
	runs := make([][]draw.Entry, parts)
	var wg sync.WaitGroup
	for p := range runs {
		runs[p] = entries[len(entries)*p/parts : len(entries)*(p+1)/parts]
		wg.Go(func() { slices.SortFunc(runs[p], compareKeys) })
	}
	wg.Wait()
	copy(entries, mergeRuns(runs, len(entries)))
}

func compareKeys(a, b draw.Entry) int { return strings.Compare(a.ObjectKey, b.ObjectKey) }

// mergeRuns merges runs, each sorted by object key, into one new sorted
// slice of total entries.
func mergeRuns(runs [][]draw.Entry, total int) []draw.Entry {
	out := make([]draw.Entry, 0, total)
	// h is a binary min-heap of the runs not yet exhausted, by head key.
	h := make([][]draw.Entry, 0, len(runs))
	for _, r := range runs {
		if len(r) > 0 {
			h = append(h, r)
		}
	}
	less := func(i, j int) bool { return h[i][0].ObjectKey < h[j][0].ObjectKey }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && less(r, l) {
				m = r
			}
			if !less(m, i) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		top := h[0]
		if len(h) == 1 {
			return append(out, top...)
		}
		out = append(out, top[0])
		if len(top) == 1 {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		} else {
			h[0] = top[1:]
		}
		down(0)
	}
	return out
}
