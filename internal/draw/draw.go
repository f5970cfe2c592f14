package draw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Stratum is one line of a draw's strata list: a label, the number of
// objects of the population in it and the number drawn from it.
type Stratum struct {
	Label      string `json:"label"`
	Population int    `json:"population"`
	Quota      int    `json:"quota"`
	// Rule is the quota rule Quota was computed from. The spec's proof
	// lists quotas only; recording the rule lets [Verify] recompute each
	// quota instead of merely checking it is at most Population.
	Rule *Quota `json:"rule,omitempty"`
}

// A Result is the outcome of [Draw].
type Result struct {
	// Strata lists every stratum of the population, sorted by label
	// bytewise.
	Strata []Stratum
	// Drawn is the drawn list, ordered by stratum label and, inside a
	// stratum, by (v, object_key). It is never nil.
	Drawn []Entry
}

// Draw draws objects from population as specified for "spotcheck-draw-v1":
// every entry gets v = u64(HMAC-SHA256(seed, object_key)), and each stratum
// contributes its quota of entries with the smallest (v, object_key). The
// result does not depend on the order of population, which Draw does not
// modify.
//
// quotas must hold the rule of every stratum of the population and of no
// other; see [Strata], which Draw applies. An empty population, a malformed
// entry or rule and a duplicate object key are errors too. Every error
// about the input wraps a *[FieldError] naming the offending field.
func Draw(seed [32]byte, population []Entry, quotas map[string]Quota) (Result, error) {
	return DrawStages(seed, population, quotas, nil)
}

// DrawStages is [Draw], telling stage, if not nil, how long hashing
// (checking every entry and computing its v) and selecting took.
func DrawStages(seed [32]byte, population []Entry, quotas map[string]Quota, stage func(name string, d time.Duration)) (Result, error) {
	if stage == nil {
		stage = func(string, time.Duration) {}
	}
	if len(population) == 0 {
		return Result{}, fmt.Errorf("draw: %w", &FieldError{Field: "population", Problem: "is empty"})
	}
	if err := ValidateQuotas(quotas); err != nil {
		return Result{}, fmt.Errorf("draw: %w", err)
	}
	start := time.Now()
	sc, err := scan(seed, population)
	if err != nil {
		return Result{}, fmt.Errorf("draw: %w", err)
	}
	stage("hash", time.Since(start))
	start = time.Now()
	strata, err := stratify(sc.labels, sc.counts, quotas)
	if err != nil {
		return Result{}, fmt.Errorf("draw: %w", err)
	}
	sizes := make([]int, len(strata))
	for s, st := range strata {
		sizes[s] = st.Quota
	}
	drawn := sc.pick(population, sizes)
	stage("select", time.Since(start))
	return Result{Strata: strata, Drawn: drawn}, nil
}

// Strata returns the strata list of population under quotas, as [Draw]
// would, without drawing: the per-stratum counts and quotas published at
// freeze time, before the seed can be known. It checks the entries and
// the rules as Draw does, but not that object keys are unique, which
// [WritePopulation] checks when the population is published.
//
// quotas must hold the rule of every stratum of the population: a stratum
// without one is an error rather than a quota of zero, so that a stratum
// left out of a plan by mistake is noticed (to draw nothing from a stratum,
// give it {"count": 0}). A rule for a stratum with no object in the
// population is an error too. Such a stratum cannot be listed in the proof
// with population 0: nothing in the published population would attest its
// label, so a verifier could not tell it from an invented one. Exclusions
// can legitimately empty a planned stratum; the freeze then drops its rule,
// and the plan, not the draw proof, is where it shows.
func Strata(population []Entry, quotas map[string]Quota) ([]Stratum, error) {
	if len(population) == 0 {
		return nil, fmt.Errorf("draw: %w", &FieldError{Field: "population", Problem: "is empty"})
	}
	if err := ValidateQuotas(quotas); err != nil {
		return nil, fmt.Errorf("draw: %w", err)
	}
	counts := make(map[string]int)
	for i, e := range population {
		if fe := checkEntry(i, e); fe != nil {
			return nil, fmt.Errorf("draw: %w", fe)
		}
		counts[e.Stratum]++
	}
	labels := slices.Sorted(maps.Keys(counts))
	n := make([]int, len(labels))
	for s, label := range labels {
		n[s] = counts[label]
	}
	strata, err := stratify(labels, n, quotas)
	if err != nil {
		return nil, fmt.Errorf("draw: %w", err)
	}
	return strata, nil
}

// stratify applies valid quotas to the strata labels, sorted, of counts
// entries each.
func stratify(labels []string, counts []int, quotas map[string]Quota) ([]Stratum, error) {
	strata := make([]Stratum, len(labels))
	for s, label := range labels {
		rule, ok := quotas[label]
		if !ok {
			return nil, &FieldError{
				Field:   quotaField(label),
				Problem: fmt.Sprintf("is missing (the stratum has population %d)", counts[s]),
			}
		}
		if rule.Count != nil {
			// The result must not change with the caller's map.
			c := *rule.Count
			rule.Count = &c
		}
		strata[s] = Stratum{Label: label, Population: counts[s], Quota: rule.size(counts[s]), Rule: &rule}
	}
	if len(quotas) > len(labels) {
		for _, label := range slices.Sorted(maps.Keys(quotas)) {
			if _, ok := slices.BinarySearch(labels, label); !ok {
				return nil, &FieldError{Field: quotaField(label), Problem: "is for a stratum with no object in the population"}
			}
		}
	}
	return strata, nil
}

// parallelMin is the population size from which scan and pick spread their
// work over several goroutines: below it, starting them costs more than the
// work they would share.
const parallelMin = 1 << 14

// workers returns how many goroutines should share work on n entries.
func workers(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/parallelMin))
}

// scanned is what one pass over a population learns.
type scanned struct {
	labels []string // distinct stratum labels, sorted bytewise
	counts []int    // counts[s] entries have the label labels[s]
	strata []int32  // strata[i] indexes the label of population[i]
	values []uint64 // values[i] is v of population[i]
}

// scan checks every entry, computes its v once and indexes its stratum. It
// reports the first malformed entry in population order, or else a
// duplicate object key.
func scan(seed [32]byte, population []Entry) (*scanned, error) {
	n := len(population)
	if n > math.MaxInt32 {
		// Entries are indexed by int32 to halve the selection's memory.
		return nil, &FieldError{Field: "population", Problem: fmt.Sprintf("has %d entries, more than %d", n, math.MaxInt32)}
	}
	sc := &scanned{strata: make([]int32, n), values: make([]uint64, n)}
	parts := make([]scanPart, workers(n))
	var wg sync.WaitGroup
	for w := range parts {
		p := &parts[w]
		p.lo, p.hi = n*w/len(parts), n*(w+1)/len(parts)
		if w == len(parts)-1 {
			p.run(seed, population, sc)
		} else {
			wg.Go(func() { p.run(seed, population, sc) })
		}
	}
	wg.Wait()

	sorted := true
	for w := range parts {
		// Parts are in population order and each stops at its first
		// error, so the first error found is the first one overall.
		if parts[w].err != nil {
			return nil, parts[w].err
		}
		sorted = sorted && parts[w].sorted
	}
	// A population in canonical order, the usual case, was found free of
	// duplicates while scanning; any other needs a look at all values.
	if !sorted {
		if fe := findDuplicate(population, sc.values); fe != nil {
			return nil, fe
		}
	}

	for w := range parts {
		sc.labels = append(sc.labels, parts[w].labels...)
	}
	slices.Sort(sc.labels)
	sc.labels = slices.Compact(sc.labels)
	sc.counts = make([]int, len(sc.labels))
	for w := range parts {
		p := &parts[w]
		global := make([]int32, len(p.labels))
		for k, label := range p.labels {
			s, _ := slices.BinarySearch(sc.labels, label)
			global[k] = int32(s)
		}
		for i := p.lo; i < p.hi; i++ {
			s := global[sc.strata[i]]
			sc.strata[i] = s
			sc.counts[s]++
		}
	}
	return sc, nil
}

// A scanPart is the share of scan done by one goroutine: the entries
// lo <= i < hi.
type scanPart struct {
	lo, hi int
	labels []string // labels in order of first appearance; strata holds indexes into it until scan merges the parts
	sorted bool     // object keys strictly ascend over [lo-1, hi)
	err    *FieldError
}

func (p *scanPart) run(seed [32]byte, population []Entry, sc *scanned) {
	// One HMAC per goroutine, reset for every entry: Reset restores the
	// keyed state instead of hashing the key again.
	mac := hmac.New(sha256.New, seed[:])
	msg := make([]byte, 0, 64)
	sum := make([]byte, 0, sha256.Size)
	index := make(map[string]int32)
	last, lastIndex := "", int32(-1) // "" is never a valid label
	p.sorted = true
	for i := p.lo; i < p.hi; i++ {
		e := &population[i]
		if fe := checkKey(i, e.ObjectKey); fe != nil {
			p.err = fe
			return
		}
		if p.sorted && i > 0 {
			switch prev := population[i-1].ObjectKey; strings.Compare(prev, e.ObjectKey) {
			case 0:
				p.err = duplicateError(i-1, i, e.ObjectKey)
				return
			case 1:
				p.sorted = false
			}
		}

		mac.Reset()
		msg = append(msg[:0], e.ObjectKey...)
		mac.Write(msg)
		sum = mac.Sum(sum[:0])
		sc.values[i] = binary.BigEndian.Uint64(sum)

		// Entries of one stratum often come in runs; skip the map then.
		// A label is checked when first met, which is in time to report
		// the first malformed entry: labels repeat, keys do not.
		if e.Stratum != last {
			k, ok := index[e.Stratum]
			if !ok {
				if fe := checkLabel(i, e.Stratum); fe != nil {
					p.err = fe
					return
				}
				k = int32(len(p.labels))
				index[e.Stratum] = k
				p.labels = append(p.labels, e.Stratum)
			}
			last, lastIndex = e.Stratum, k
		}
		sc.strata[i] = lastIndex
	}
}

// findDuplicate reports the duplicate object key of population with the
// smallest second index, if any. Equal keys have equal values, so only
// entries sharing a value, found by sorting the values, need comparing;
// distinct keys sharing a value (a 64-bit collision) are legitimate, and
// pick orders them by key.
func findDuplicate(population []Entry, values []uint64) *FieldError {
	sorted := radixSort(slices.Clone(values))
	var shared map[uint64][]int
	for k := 1; k < len(sorted); k++ {
		if sorted[k] == sorted[k-1] {
			if shared == nil {
				shared = make(map[uint64][]int)
			}
			shared[sorted[k]] = nil
		}
	}
	if shared == nil {
		return nil
	}
	for i, v := range values {
		if idx, ok := shared[v]; ok {
			shared[v] = append(idx, i)
		}
	}
	first, second := -1, -1
	for _, idx := range shared {
		seen := make(map[string]int, len(idx))
		for _, j := range idx {
			key := population[j].ObjectKey
			if i, ok := seen[key]; ok {
				if second < 0 || j < second {
					first, second = i, j
				}
				break // idx ascends: later pairs have a larger second index
			}
			seen[key] = j
		}
	}
	if second < 0 {
		return nil
	}
	return duplicateError(first, second, population[first].ObjectKey)
}

// radixSort sorts a, using one scratch slice of the same length, and
// returns the sorted values, which are in a or in the scratch slice.
func radixSort(a []uint64) []uint64 {
	var counts [8][256]int
	for _, v := range a {
		for d := range 8 {
			counts[d][byte(v>>(8*d))]++
		}
	}
	src, dst := a, make([]uint64, len(a))
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0]>>(8*d))] == len(src) {
			continue // every value has the same byte d
		}
		sum := 0
		for b := range c {
			c[b], sum = sum, sum+c[b]
		}
		for _, v := range src {
			b := byte(v >> (8 * d))
			dst[c[b]] = v
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}

// An item is an entry of the population reduced to what selection needs.
type item struct {
	v uint64
	i int32 // index in the population
}

// pick returns the drawn list: the sizes[s] entries of each stratum s with
// the smallest (v, object_key), strata in label order.
func (sc *scanned) pick(population []Entry, sizes []int) []Entry {
	// Group the items by stratum, stratum s in items[start[s]:start[s+1]].
	start := make([]int, len(sc.labels)+1)
	for s, c := range sc.counts {
		start[s+1] = start[s] + c
	}
	items := make([]item, len(population))
	next := slices.Clone(start)
	for i, s := range sc.strata {
		items[next[s]] = item{v: sc.values[i], i: int32(i)}
		next[s]++
	}
	// Stratum s's drawn entries go to drawn[out[s]:out[s+1]].
	out := make([]int, len(sizes)+1)
	for s, n := range sizes {
		out[s+1] = out[s] + n
	}
	drawn := make([]Entry, out[len(sizes)])

	compare := func(a, b item) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return strings.Compare(population[a.i].ObjectKey, population[b.i].ObjectKey)
	}
	one := func(s int) {
		seg, n := items[start[s]:start[s+1]], sizes[s]
		if n == 0 {
			return
		}
		selectSmallest(seg, n, compare)
		slices.SortFunc(seg[:n], compare)
		for k, it := range seg[:n] {
			drawn[out[s]+k] = population[it.i]
		}
	}

	// Strata are independent: share them out among goroutines, this one
	// included.
	var taken atomic.Int32
	work := func() {
		for {
			s := int(taken.Add(1)) - 1
			if s >= len(sizes) {
				return
			}
			one(s)
		}
	}
	var wg sync.WaitGroup
	for range workers(len(population)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return drawn
}

// selectSmallest reorders s so that s[:n] holds the n smallest items of s,
// in no particular order, by quickselect.
func selectSmallest(s []item, n int, compare func(a, b item) int) {
	lo, hi := 0, len(s)
	// On values from a PRF quickselect needs about log₂ len(s) rounds.
	// Twice that means a crafted input; sorting then bounds the cost.
	budget := 2 * bits.Len(uint(len(s)))
	for lo < n && n < hi {
		if hi-lo <= 16 || budget == 0 {
			slices.SortFunc(s[lo:hi], compare)
			return
		}
		budget--
		p := lo + partition(s[lo:hi], compare)
		// s[:p] now holds the p smallest items.
		if p < n {
			lo = p + 1
		} else {
			hi = p
		}
	}
}

// partition partitions s around the median of its first, middle and last
// items and returns the pivot's final index: smaller items before it,
// larger after. Items are distinct because object keys are.
func partition(s []item, compare func(a, b item) int) int {
	m, last := len(s)/2, len(s)-1
	if compare(s[m], s[0]) < 0 {
		s[m], s[0] = s[0], s[m]
	}
	if compare(s[last], s[0]) < 0 {
		s[last], s[0] = s[0], s[last]
	}
	if compare(s[m], s[last]) < 0 {
		s[m], s[last] = s[last], s[m]
	}
	// s[0] is now the smallest of the three and s[last] the median.
	pivot, p := s[last], 0
	for k := range last {
		if compare(s[k], pivot) < 0 {
			s[p], s[k] = s[k], s[p]
			p++
		}
	}
	s[p], s[last] = s[last], s[p]
	return p
}
