// Package match assigns certified inspectors to drawn objects as published in
// section 2 of DRAW-SPEC.md (algorithm "spotcheck-match-v1"): a
// deterministic, verifiable random matching that honours qualifications
// (tags), recusal (回避), a minimum team size and per-inspector load caps.
//
// Every function here is a pure function of its arguments. The randomness
// comes from the match seed, which [Seed] derives from the batch's draw seed,
// the county, the matching round and a public beacon, so that anyone holding
// the inputs recorded in a [Proof] can recompute the matching and check it
// with [Verify].
package match

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Algorithm is the name of the published matching algorithm implemented by
// this package, as it appears in proofs and test vectors.
const Algorithm = "spotcheck-match-v1"

// An Object is a drawn object waiting for an inspection team.
type Object struct {
	// ObjectKey is the object's public identifier, unique within a match.
	ObjectKey string `json:"object_key"`
	// K is the number of inspectors the object needs, at least 2.
	K int `json:"k"`
	// RequiredTags are the qualifications every team member must hold.
	RequiredTags []string `json:"required_tags"`
	// Recused lists the inspectors who must not inspect this object
	// (declared relations, last inspection's team, cross-station rules).
	// Keys that are not in the pool are allowed and have no effect.
	Recused []string `json:"recused"`
}

// An Inspector is a member of the county's pool: active, and certified for
// the whole inspection period.
type Inspector struct {
	// InspectorKey identifies the inspector, unique within the pool.
	InspectorKey string `json:"inspector_key"`
	// Tags are the inspector's qualifications. Order and repetition do not
	// matter.
	Tags []string `json:"tags"`
	// InitialLoad is the number of tasks the inspector already has open.
	InitialLoad int `json:"initial_load"`
	// MaxLoad caps the inspector's total load: an inspector is only
	// matched while their load is below MaxLoad. An InitialLoad at or above
	// MaxLoad is accepted and simply means the inspector gets no new task.
	MaxLoad int `json:"max_load"`
}

// An Assignment is the team matched to one object.
type Assignment struct {
	ObjectKey string `json:"object_key"`
	// Inspectors are the team's keys in selection order.
	Inspectors []string `json:"inspectors"`
}

// A Result is the outcome of a successful [Match].
type Result struct {
	// Assignments has one entry per object, in processing order.
	Assignments []Assignment `json:"assignments"`
	// Loads is every pool inspector's load after the match.
	Loads map[string]int `json:"loads"`
}

// Seed returns the match seed of a county's matching round:
//
//	SHA256("spotcheck-match-v1" || 0x00 || draw_seed || 0x00 || county_code
//	       || 0x00 || decimal(round) || 0x00 || beacon)
//
// where drawSeed is the batch's 32-byte draw seed (the raw bytes, not their
// hex form) and decimal(round) is round in base 10 without leading zeros.
// Rounds start at 1; Seed does not check that, [Verify] does.
func Seed(drawSeed [32]byte, countyCode string, round int, beacon string) [32]byte {
	var b []byte
	b = append(b, Algorithm...)
	b = append(b, 0)
	b = append(b, drawSeed[:]...)
	b = append(b, 0)
	b = append(b, countyCode...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(round), 10)
	b = append(b, 0)
	b = append(b, beacon...)
	return sha256.Sum256(b)
}

// prf computes hv(s) = u64(HMAC-SHA256(key = match_seed, message = s)).
// One HMAC is reused through Reset, which restores the precomputed
// ipad/opad states instead of rehashing the key for every message.
type prf struct {
	mac hash.Hash
	msg []byte
	sum [sha256.Size]byte
}

func newPRF(seed [32]byte) *prf {
	return &prf{mac: hmac.New(sha256.New, seed[:])}
}

// hv returns hv(prefix || s). The message is assembled in a reused buffer so
// that the hot loop of Match does not allocate.
func (p *prf) hv(prefix []byte, s string) uint64 {
	p.msg = append(append(p.msg[:0], prefix...), s...)
	p.mac.Reset()
	p.mac.Write(p.msg)
	p.mac.Sum(p.sum[:0])
	return binary.BigEndian.Uint64(p.sum[:8])
}

// A candidate is an inspector's position in the step-3 order for one object.
type candidate struct {
	i    int // index in the pool
	load int
	hv   uint64
	key  string
}

// before reports whether a comes before b in the order
// (load, hv("m|" + object_key + "|" + inspector_key), inspector_key).
func (a *candidate) before(b *candidate) bool {
	if a.load != b.load {
		return a.load < b.load
	}
	if a.hv != b.hv {
		return a.hv < b.hv
	}
	return a.key < b.key
}

// A bitset holds one bit per pool inspector.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (s bitset) set(i int)   { s[i/64] |= 1 << (i % 64) }
func (s bitset) clear(i int) { s[i/64] &^= 1 << (i % 64) }

func (s bitset) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// pool is the matching view of the inspector list: eligibility as bit
// operations, so that eligible(o) costs a few word operations per tag rather
// than a scan of every inspector's tags.
type pool struct {
	inspectors []Inspector
	index      map[string]int    // inspector_key -> position
	tagged     map[string]bitset // tag -> inspectors holding it
	all        bitset
}

func newPool(inspectors []Inspector) *pool {
	p := &pool{
		inspectors: inspectors,
		index:      make(map[string]int, len(inspectors)),
		tagged:     make(map[string]bitset),
		all:        newBitset(len(inspectors)),
	}
	for i, in := range inspectors {
		p.index[in.InspectorKey] = i
		p.all.set(i)
		for _, t := range in.Tags {
			s, ok := p.tagged[t]
			if !ok {
				s = newBitset(len(inspectors))
				p.tagged[t] = s
			}
			s.set(i)
		}
	}
	return p
}

// eligible returns step 1's eligible(o): the inspectors whose tags contain
// all of o.RequiredTags and whose key is not in o.Recused. It writes the set
// into s, which must have the length of p.all.
func (p *pool) eligible(s bitset, o *Object) bitset {
	copy(s, p.all)
	for _, t := range o.RequiredTags {
		held := p.tagged[t] // nil when nobody holds t: nobody is eligible
		for w := range s {
			if w < len(held) {
				s[w] &= held[w]
			} else {
				s[w] = 0
			}
		}
	}
	for _, r := range o.Recused {
		if i, ok := p.index[r]; ok {
			s.clear(i)
		}
	}
	return s
}

// Match matches inspectors to objects with the given match seed
// (see [Seed]), following steps 1 to 4 of the published algorithm:
//
//  1. eligible(o) is the set of inspectors holding all of o's required tags
//     and not recused from o;
//  2. objects are processed in ascending order of
//     (|eligible(o)|, hv("o|" + object_key), object_key), so the hardest
//     objects to staff choose first;
//  3. each object takes the first k eligible inspectors whose load is below
//     their max_load, in ascending order of
//     (load, hv("m|" + object_key + "|" + inspector_key), inspector_key),
//     and each chosen inspector's load grows by one;
//  4. if any object cannot be staffed, nothing is assigned.
//
// Strings compare bytewise. The result does not depend on the order of
// objects or inspectors. Invalid input yields an [*InputError]; when objects
// cannot be staffed Match returns an [*InfeasibleError] listing every one of
// them and no assignments.
func Match(seed [32]byte, objects []Object, inspectors []Inspector) (Result, error) {
	if err := validate(objects, inspectors); err != nil {
		return Result{}, err
	}
	p := newPool(inspectors)
	f := newPRF(seed)

	// Steps 1 and 2: every object's eligible set and sort key, computed once.
	type entry struct {
		o        *Object
		eligible bitset
		n        int
		hv       uint64
	}
	entries := make([]entry, len(objects))
	words := len(p.all)
	sets := make([]uint64, len(objects)*words) // one allocation for all the sets
	prefix := []byte("o|")
	for j := range objects {
		o := &objects[j]
		e := p.eligible(sets[j*words:(j+1)*words:(j+1)*words], o)
		entries[j] = entry{o: o, eligible: e, n: e.count(), hv: f.hv(prefix, o.ObjectKey)}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(a.n, b.n); c != 0 {
			return c
		}
		if c := cmp.Compare(a.hv, b.hv); c != 0 {
			return c
		}
		return strings.Compare(a.o.ObjectKey, b.o.ObjectKey)
	})

	// Step 3.
	load := make([]int, len(inspectors))
	for i, in := range inspectors {
		load[i] = in.InitialLoad
	}
	var (
		assignments = make([]Assignment, 0, len(objects))
		infeasible  []Infeasible
		s           selector
	)
	for j := range entries {
		e := &entries[j]
		team, available := s.choose(f, p, load, e.o.ObjectKey, e.o.K, e.eligible)
		if team == nil {
			infeasible = append(infeasible, Infeasible{ObjectKey: e.o.ObjectKey, Eligible: e.n, Available: available})
			continue
		}
		keys := make([]string, len(team))
		for t, i := range team {
			load[i]++
			keys[t] = inspectors[i].InspectorKey
		}
		assignments = append(assignments, Assignment{ObjectKey: e.o.ObjectKey, Inspectors: keys})
	}

	// Step 4.
	if infeasible != nil {
		return Result{}, &InfeasibleError{Objects: infeasible}
	}
	loads := make(map[string]int, len(inspectors))
	for i, in := range inspectors {
		loads[in.InspectorKey] = load[i]
	}
	return Result{Assignments: assignments, Loads: loads}, nil
}

// A selector picks the first k candidates of step 3 for one object. It keeps
// its buffers between objects so that Match allocates little per object.
type selector struct {
	avail []int       // available candidates (pool positions)
	lows  []int       // the k smallest loads seen, ascending
	best  []candidate // the first k candidates seen, in step-3 order
	msg   []byte      // "m|" + object_key + "|"
	team  []int
}

// choose returns the pool positions of the first k inspectors of eligible
// whose load is below their max_load, in step-3 order for the object
// objectKey, and the number of such available inspectors. It returns
// a nil team when fewer than k are available.
//
// Only candidates whose load is at most the k-th smallest available load can
// be chosen, so hv is computed for those alone: with balanced loads this
// skips most of the HMACs, which dominate the cost of Match.
func (s *selector) choose(f *prf, p *pool, load []int, objectKey string, k int, eligible bitset) (team []int, available int) {
	s.avail = s.avail[:0]
	for w, word := range eligible {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if load[i] < p.inspectors[i].MaxLoad {
				s.avail = append(s.avail, i)
			}
		}
	}
	if len(s.avail) < k {
		return nil, len(s.avail)
	}

	// The k-th smallest load, by insertion into a sorted window of k loads.
	s.lows = s.lows[:0]
	for _, i := range s.avail {
		l := load[i]
		if len(s.lows) == k {
			if l >= s.lows[k-1] {
				continue
			}
			s.lows = s.lows[:k-1]
		}
		at := len(s.lows)
		s.lows = append(s.lows, l)
		for at > 0 && s.lows[at-1] > l {
			s.lows[at] = s.lows[at-1]
			at--
		}
		s.lows[at] = l
	}
	threshold := s.lows[k-1]

	// The first k candidates in step-3 order, among those that can make it.
	s.msg = append(append(append(s.msg[:0], "m|"...), objectKey...), '|')
	s.best = s.best[:0]
	for _, i := range s.avail {
		if load[i] > threshold {
			continue
		}
		c := candidate{i: i, load: load[i], key: p.inspectors[i].InspectorKey}
		c.hv = f.hv(s.msg, c.key)
		if len(s.best) == k {
			if !c.before(&s.best[k-1]) {
				continue
			}
			s.best = s.best[:k-1]
		}
		at := len(s.best)
		s.best = append(s.best, c)
		for at > 0 && c.before(&s.best[at-1]) {
			s.best[at] = s.best[at-1]
			at--
		}
		s.best[at] = c
	}
	s.team = s.team[:0]
	for _, c := range s.best {
		s.team = append(s.team, c.i)
	}
	return s.team, len(s.avail)
}
