package batch

import (
	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// mergeRuns merges the runs' keys, each run sorted, into the entries of
// the population in canonical order: sorted by object key.
func mergeRuns(runs []run, total int) []draw.Entry {
	out := make([]draw.Entry, total)
	mergeInto(out, runs)
	return out
}

// concatRuns returns the entries of the runs, run after run: the
// population in the order of its strata, which is all a draw needs.
func concatRuns(runs []run, total int) []draw.Entry {
	out := make([]draw.Entry, 0, total)
	for _, r := range runs {
		for _, k := range r.keys {
			out = append(out, draw.Entry{ObjectKey: k, Stratum: r.label})
		}
	}
	return out
}

// mergeInto merges the runs into out, which has room for all their keys.
func mergeInto(out []draw.Entry, runs []run) {
	j := 0
	mergeEach(runs, func(key, label string) error {
		out[j] = draw.Entry{ObjectKey: key, Stratum: label}
		j++
		return nil
	})
}

// mergeEach calls f with each key of the runs, each run sorted, in sorted
// order, and the label of its run; it stops at f's first error. It is a
// tournament of losers (Knuth, TAOCP 5.4.1): one comparison per level of a
// tree over the runs for each key.
func mergeEach(runs []run, f func(key, label string) error) error {
	k := len(runs)
	if k == 0 {
		return nil
	}
	// head[i] is run i's next key; an exhausted run's is exhausted,
	// which sorts after every key: keys are UTF-8, where 0xFF never
	// occurs.
	const exhausted = "\xff"
	head := make([]string, k)
	pos := make([]int, k)
	total := 0
	for i, r := range runs {
		head[i] = exhausted
		if len(r.keys) > 0 {
			head[i] = r.keys[0]
		}
		total += len(r.keys)
	}
	// Leaves k..2k-1 are the runs; inner node n (1 ≤ n < k), with
	// children 2n and 2n+1, holds the loser of the match played there.
	loser := make([]int, k)
	var play func(n int) int
	play = func(n int) int {
		if n >= k {
			return n - k
		}
		a, b := play(2*n), play(2*n+1)
		if head[b] < head[a] {
			a, b = b, a
		}
		loser[n] = b
		return a
	}
	winner := 0
	if k > 1 {
		winner = play(1)
	}
	for range total {
		r := &runs[winner]
		if err := f(head[winner], r.label); err != nil {
			return err
		}
		pos[winner]++
		if pos[winner] < len(r.keys) {
			head[winner] = r.keys[pos[winner]]
		} else {
			head[winner] = exhausted
		}
		w, hw := winner, head[winner]
		for n := (winner + k) / 2; n >= 1; n /= 2 {
			if l := loser[n]; head[l] < hw {
				loser[n], w, hw = w, l, head[l]
			}
		}
		winner = w
	}
	return nil
}
