package match

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// referenceMatch is section 2 of the specification written as plainly as
// possible, without the optimizations of Match, to check Match against.
func referenceMatch(seed [32]byte, objects []Object, pool []Inspector) ([]Assignment, []Infeasible) {
	hv := func(s string) uint64 {
		m := hmac.New(sha256.New, seed[:])
		m.Write([]byte(s))
		return binary.BigEndian.Uint64(m.Sum(nil))
	}
	eligible := func(o Object) []Inspector {
		var e []Inspector
		for _, in := range pool {
			ok := !slices.Contains(o.Recused, in.InspectorKey)
			for _, t := range o.RequiredTags {
				ok = ok && slices.Contains(in.Tags, t)
			}
			if ok {
				e = append(e, in)
			}
		}
		return e
	}
	order := slices.Clone(objects)
	slices.SortFunc(order, func(a, b Object) int {
		if x, y := len(eligible(a)), len(eligible(b)); x != y {
			return x - y
		}
		if x, y := hv("o|"+a.ObjectKey), hv("o|"+b.ObjectKey); x != y {
			if x < y {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ObjectKey, b.ObjectKey)
	})
	load := map[string]int{}
	for _, in := range pool {
		load[in.InspectorKey] = in.InitialLoad
	}
	var (
		assignments []Assignment
		infeasible  []Infeasible
	)
	for _, o := range order {
		e := eligible(o)
		var cands []Inspector
		for _, in := range e {
			if load[in.InspectorKey] < in.MaxLoad {
				cands = append(cands, in)
			}
		}
		slices.SortFunc(cands, func(a, b Inspector) int {
			if x, y := load[a.InspectorKey], load[b.InspectorKey]; x != y {
				return x - y
			}
			x, y := hv("m|"+o.ObjectKey+"|"+a.InspectorKey), hv("m|"+o.ObjectKey+"|"+b.InspectorKey)
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
			return strings.Compare(a.InspectorKey, b.InspectorKey)
		})
		if len(cands) < o.K {
			infeasible = append(infeasible, Infeasible{o.ObjectKey, len(e), len(cands)})
			continue
		}
		var team []string
		for _, in := range cands[:o.K] {
			team = append(team, in.InspectorKey)
			load[in.InspectorKey]++
		}
		assignments = append(assignments, Assignment{o.ObjectKey, team})
	}
	if infeasible != nil {
		return nil, infeasible
	}
	return assignments, nil
}

var tagNames = []string{"land", "mining", "survey", "leader", "planning"}

// randomCase returns small random inputs that are sometimes feasible and
// sometimes not: few tags, recusals of pool members and of strangers, caps
// below, at and above the initial load.
func randomCase(r *rand.Rand) (seed [32]byte, objects []Object, pool []Inspector) {
	for i := range seed {
		seed[i] = byte(r.UintN(256))
	}
	n := r.IntN(25)
	for i := range n {
		in := Inspector{
			InspectorKey: fmt.Sprintf("I%03d", i),
			InitialLoad:  r.IntN(4),
			MaxLoad:      r.IntN(12),
		}
		for _, t := range tagNames {
			if r.IntN(3) > 0 {
				in.Tags = append(in.Tags, t)
			}
		}
		pool = append(pool, in)
	}
	m := r.IntN(30)
	for j := range m {
		o := Object{ObjectKey: fmt.Sprintf("O%04d", j), K: 2 + r.IntN(3)}
		for range r.IntN(3) {
			o.RequiredTags = append(o.RequiredTags, tagNames[r.IntN(len(tagNames))])
		}
		for range r.IntN(4) {
			o.Recused = append(o.Recused, fmt.Sprintf("I%03d", r.IntN(30)))
		}
		objects = append(objects, o)
	}
	return seed, objects, pool
}

func TestMatchAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var feasible, infeasible int
	for iter := range 3000 {
		seed, objects, pool := randomCase(r)
		want, wantInf := referenceMatch(seed, objects, pool)
		res, err := Match(seed, objects, pool)
		var inf *InfeasibleError
		switch {
		case errors.As(err, &inf):
			infeasible++
			if !reflect.DeepEqual(inf.Objects, wantInf) {
				t.Fatalf("iteration %d: infeasible = %v, reference %v", iter, inf.Objects, wantInf)
			}
		case err != nil:
			t.Fatalf("iteration %d: %v", iter, err)
		default:
			feasible++
			if wantInf != nil || !reflect.DeepEqual(res.Assignments, want) && len(want)+len(res.Assignments) > 0 {
				t.Fatalf("iteration %d: assignments = %v, reference %v (infeasible %v)", iter, res.Assignments, want, wantInf)
			}
		}
	}
	// The generator must exercise both outcomes for the comparison to mean
	// anything.
	if feasible < 300 || infeasible < 300 {
		t.Fatalf("unbalanced generator: %d feasible, %d infeasible runs", feasible, infeasible)
	}
}

func TestMatchInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 3000 {
		seed, objects, pool := randomCase(r)
		byKey := map[string]Inspector{}
		for _, in := range pool {
			byKey[in.InspectorKey] = in
		}
		eligibleCount := func(o Object) int {
			n := 0
			for _, in := range pool {
				if isEligible(o, in) {
					n++
				}
			}
			return n
		}

		res, err := Match(seed, objects, pool)
		var inf *InfeasibleError
		if errors.As(err, &inf) {
			if res.Assignments != nil || res.Loads != nil {
				t.Fatalf("iteration %d: infeasible match returned assignments", iter)
			}
			listed := map[string]Infeasible{}
			for _, x := range inf.Objects {
				listed[x.ObjectKey] = x
			}
			for _, o := range objects {
				x, ok := listed[o.ObjectKey]
				if e := eligibleCount(o); e < o.K && !ok {
					t.Fatalf("iteration %d: %s has %d eligible for k=%d but is not listed", iter, o.ObjectKey, e, o.K)
				}
				if !ok {
					continue
				}
				if x.Eligible != eligibleCount(o) || x.Available > x.Eligible || x.Available >= o.K {
					t.Fatalf("iteration %d: bad entry %+v for k=%d", iter, x, o.K)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}

		if len(res.Assignments) != len(objects) {
			t.Fatalf("iteration %d: %d assignments for %d objects", iter, len(res.Assignments), len(objects))
		}
		objByKey := map[string]Object{}
		for _, o := range objects {
			objByKey[o.ObjectKey] = o
		}
		count := map[string]int{}
		for _, a := range res.Assignments {
			o, ok := objByKey[a.ObjectKey]
			if !ok {
				t.Fatalf("iteration %d: unknown or repeated object %s", iter, a.ObjectKey)
			}
			delete(objByKey, a.ObjectKey)
			if len(a.Inspectors) != o.K {
				t.Fatalf("iteration %d: %s has %d inspectors, k=%d", iter, o.ObjectKey, len(a.Inspectors), o.K)
			}
			seen := map[string]bool{}
			for _, key := range a.Inspectors {
				in, ok := byKey[key]
				switch {
				case !ok:
					t.Fatalf("iteration %d: %s: unknown inspector %s", iter, o.ObjectKey, key)
				case seen[key]:
					t.Fatalf("iteration %d: %s: %s twice", iter, o.ObjectKey, key)
				case slices.Contains(o.Recused, key):
					t.Fatalf("iteration %d: %s: recused %s assigned", iter, o.ObjectKey, key)
				case !isEligible(o, in):
					t.Fatalf("iteration %d: %s: %s lacks tags %v", iter, o.ObjectKey, key, o.RequiredTags)
				}
				seen[key] = true
				count[key]++
			}
		}
		for _, in := range pool {
			final := res.Loads[in.InspectorKey]
			if final != in.InitialLoad+count[in.InspectorKey] {
				t.Fatalf("iteration %d: %s: load %d, want %d+%d", iter, in.InspectorKey, final, in.InitialLoad, count[in.InspectorKey])
			}
			if count[in.InspectorKey] > 0 && final > in.MaxLoad {
				t.Fatalf("iteration %d: %s: load %d exceeds max_load %d", iter, in.InspectorKey, final, in.MaxLoad)
			}
		}
	}
}

func isEligible(o Object, in Inspector) bool {
	if slices.Contains(o.Recused, in.InspectorKey) {
		return false
	}
	for _, t := range o.RequiredTags {
		if !slices.Contains(in.Tags, t) {
			return false
		}
	}
	return true
}

// Among inspectors who are all equally eligible and never capped, taking the
// k least loaded each time keeps every load within one of the others.
func TestMatchBalancesLoad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := range 500 {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], r.Uint64())
		initial := r.IntN(5)
		pool := make([]Inspector, 3+r.IntN(40))
		for i := range pool {
			pool[i] = Inspector{InspectorKey: fmt.Sprintf("I%d", i), Tags: tagNames, InitialLoad: initial, MaxLoad: 1 << 20}
		}
		objects := make([]Object, r.IntN(200))
		for j := range objects {
			objects[j] = Object{ObjectKey: fmt.Sprintf("O%d", j), K: 2 + r.IntN(2), RequiredTags: tagNames[:r.IntN(3)]}
		}
		res, err := Match(seed, objects, pool)
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		lo, hi := 1<<30, 0
		for _, l := range res.Loads {
			lo, hi = min(lo, l), max(hi, l)
		}
		if hi-lo > 1 {
			t.Fatalf("iteration %d: loads range from %d to %d", iter, lo, hi)
		}
	}
}

// The result depends on what the inputs are, not on the order in which a
// database returned them.
func TestMatchIgnoresInputOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 500 {
		seed, objects, pool := randomCase(r)
		res1, err1 := Match(seed, objects, pool)
		objects2, pool2 := slices.Clone(objects), slices.Clone(pool)
		r.Shuffle(len(objects2), func(i, j int) { objects2[i], objects2[j] = objects2[j], objects2[i] })
		r.Shuffle(len(pool2), func(i, j int) { pool2[i], pool2[j] = pool2[j], pool2[i] })
		res2, err2 := Match(seed, objects2, pool2)
		if !reflect.DeepEqual(res1, res2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("iteration %d: shuffling the inputs changed the outcome", iter)
		}
	}
}

// With a symmetric pool, each inspector should be picked for a lone object
// about equally often over many seeds. The bounds are loose (about five
// standard deviations); this catches gross bias such as a reversed order.
func TestMatchIsUniform(t *testing.T) {
	const inspectors, seeds = 10, 20000
	pool := make([]Inspector, inspectors)
	for i := range pool {
		pool[i] = Inspector{InspectorKey: fmt.Sprintf("I%d", i), MaxLoad: 1}
	}
	objects := []Object{{ObjectKey: "O", K: 2}}
	picked := map[string]int{}
	for s := range seeds {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(s))
		res, err := Match(seed, objects, pool)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range res.Assignments[0].Inspectors {
			picked[key]++
		}
	}
	const want = seeds * 2 / inspectors // 4000, standard deviation about 57
	for _, in := range pool {
		if n := picked[in.InspectorKey]; n < want-300 || n > want+300 {
			t.Errorf("%s picked %d times, want about %d", in.InspectorKey, n, want)
		}
	}
}

func TestMatchListsEveryInfeasibleObject(t *testing.T) {
	pool := []Inspector{
		{InspectorKey: "A", Tags: []string{"land"}, MaxLoad: 10},
		{InspectorKey: "B", Tags: []string{"land"}, MaxLoad: 10},
		{InspectorKey: "C", Tags: []string{"land", "mining"}, MaxLoad: 1},
		{InspectorKey: "D", Tags: []string{"mining"}, MaxLoad: 10},
	}
	objects := []Object{
		{ObjectKey: "ok1", K: 2},
		{ObjectKey: "no-tag", K: 2, RequiredTags: []string{"marine"}},
		{ObjectKey: "ok2", K: 2, RequiredTags: []string{"land"}},
		{ObjectKey: "recused", K: 2, RequiredTags: []string{"land"}, Recused: []string{"A", "B"}},
		// C and D are eligible for both mining objects, but C takes one
		// task only: the second mining object in processing order finds
		// one available inspector out of two eligible.
		{ObjectKey: "mining1", K: 2, RequiredTags: []string{"mining"}},
		{ObjectKey: "mining2", K: 2, RequiredTags: []string{"mining"}},
	}
	_, err := Match([32]byte{1}, objects, pool)
	var inf *InfeasibleError
	if !errors.As(err, &inf) {
		t.Fatalf("err = %v, want *InfeasibleError", err)
	}
	got := map[string]Infeasible{}
	for _, x := range inf.Objects {
		got[x.ObjectKey] = x
	}
	want := map[string]Infeasible{
		"no-tag":  {"no-tag", 0, 0},
		"recused": {"recused", 1, 1},
	}
	// Which mining object comes second depends on hv; exactly one of them
	// is short of one inspector.
	var second string
	for _, x := range inf.Objects {
		if strings.HasPrefix(x.ObjectKey, "mining") {
			second = x.ObjectKey
		}
	}
	want[second] = Infeasible{second, 2, 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("infeasible = %v, want %v", inf.Objects, want)
	}
	// Processing order: by eligible count first.
	if inf.Objects[0].ObjectKey != "no-tag" || inf.Objects[1].ObjectKey != "recused" {
		t.Errorf("infeasible objects not in processing order: %v", inf.Objects)
	}
	if !strings.Contains(err.Error(), "3 objects cannot be staffed") {
		t.Errorf("error text: %v", err)
	}
}

func TestMatchRejectsInvalidInput(t *testing.T) {
	good := func() ([]Object, []Inspector) {
		return []Object{{ObjectKey: "O1", K: 2, RequiredTags: []string{"land"}, Recused: []string{"B"}}},
			[]Inspector{
				{InspectorKey: "A", Tags: []string{"land"}, InitialLoad: 1, MaxLoad: 5},
				{InspectorKey: "B", Tags: []string{"land"}, MaxLoad: 5},
			}
	}
	tests := []struct {
		field  string
		mutate func(o []Object, p []Inspector) ([]Object, []Inspector)
	}{
		{"objects[0].k", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].K = 1; return o, p }},
		{"objects[0].object_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].ObjectKey = ""; return o, p }},
		{"objects[0].object_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].ObjectKey = "a\tb"; return o, p }},
		{"objects[0].object_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].ObjectKey = "a\rb"; return o, p }},
		{"objects[0].object_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].ObjectKey = "\xff"; return o, p }},
		{"objects[1].object_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { return append(o, o[0]), p }},
		{"objects[0].required_tags[0]", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].RequiredTags[0] = ""; return o, p }},
		{"objects[0].recused[0]", func(o []Object, p []Inspector) ([]Object, []Inspector) { o[0].Recused[0] = "B\n"; return o, p }},
		{"inspectors[1].inspector_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[1].InspectorKey = "A"; return o, p }},
		{"inspectors[0].inspector_key", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[0].InspectorKey = "A\n"; return o, p }},
		{"inspectors[0].tags[0]", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[0].Tags[0] = "la\tnd"; return o, p }},
		{"inspectors[0].initial_load", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[0].InitialLoad = -1; return o, p }},
		{"inspectors[1].max_load", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[1].MaxLoad = -3; return o, p }},
		{"inspectors[1].max_load", func(o []Object, p []Inspector) ([]Object, []Inspector) { p[1].MaxLoad = 1 << 53; return o, p }},
	}
	for _, tt := range tests {
		o, p := tt.mutate(good())
		_, err := Match([32]byte{}, o, p)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("%s: err = %v, want an InputError on that field", tt.field, err)
		}
	}

	// What is allowed: an inspector already at or over their cap (they
	// just get nothing), recusal of someone outside the pool, repeated
	// tags, no objects, an empty pool with no objects.
	o, p := good()
	o[0].Recused = []string{"nobody"}
	o[0].RequiredTags = append(o[0].RequiredTags, "land")
	p = append(p, Inspector{InspectorKey: "C", Tags: []string{"land", "land"}, InitialLoad: 9, MaxLoad: 3})
	p = append(p, Inspector{InspectorKey: "D", Tags: []string{"land"}})
	res, err := Match([32]byte{}, o, p)
	if err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	if got := res.Assignments[0].Inspectors; !slices.Equal(slices.Sorted(slices.Values(got)), []string{"A", "B"}) {
		t.Errorf("team = %v, want A and B (C is over cap, D has max_load 0)", got)
	}
	if res.Loads["C"] != 9 {
		t.Errorf("C's load changed to %d", res.Loads["C"])
	}
	if _, err := Match([32]byte{}, nil, nil); err != nil {
		t.Errorf("empty match: %v", err)
	}
}

func TestSeed(t *testing.T) {
	var draw [32]byte
	draw[0] = 7
	// decimal(round) is plain base 10: rounds 1 and 10 and 100 differ, and
	// the beacon is the last field.
	seen := map[[32]byte]string{}
	for _, in := range []struct {
		county string
		round  int
		beacon string
	}{
		{"330402", 1, ""}, {"330402", 10, ""}, {"330402", 100, ""},
		{"330402", 1, "x"}, {"330411", 1, ""}, {"3304021", 0, ""},
	} {
		s := Seed(draw, in.county, in.round, in.beacon)
		label := fmt.Sprint(in)
		if prev, dup := seen[s]; dup {
			t.Errorf("Seed%s = Seed%s", label, prev)
		}
		seen[s] = label
	}

	// The preimage, spelt out.
	want := sha256.Sum256([]byte("spotcheck-match-v1\x00" + string(draw[:]) + "\x00330402\x0012\x00w1|w2"))
	if got := Seed(draw, "330402", 12, "w1|w2"); got != want {
		t.Errorf("Seed = %x, want %x", got, want)
	}
}

// The published algorithm is greedy: an object processed early takes the
// least loaded inspectors even when a later object has no alternative.
// Here P={C,D}, Q={A,B} would staff both objects, but P (4 eligible) comes
// before Q (5 eligible, 3 of them already at their cap) and takes A and B.
// This pins the specified behaviour; see InfeasibleError.
func TestMatchGreedyCanMissAFeasibleMatching(t *testing.T) {
	pool := []Inspector{
		{InspectorKey: "A", Tags: []string{"p", "q"}, InitialLoad: 0, MaxLoad: 1},
		{InspectorKey: "B", Tags: []string{"p", "q"}, InitialLoad: 0, MaxLoad: 1},
		{InspectorKey: "C", Tags: []string{"p"}, InitialLoad: 3, MaxLoad: 10},
		{InspectorKey: "D", Tags: []string{"p"}, InitialLoad: 3, MaxLoad: 10},
		{InspectorKey: "E", Tags: []string{"q"}, InitialLoad: 5, MaxLoad: 5},
		{InspectorKey: "F", Tags: []string{"q"}, InitialLoad: 5, MaxLoad: 5},
		{InspectorKey: "G", Tags: []string{"q"}, InitialLoad: 5, MaxLoad: 5},
	}
	objects := []Object{
		{ObjectKey: "P", K: 2, RequiredTags: []string{"p"}},
		{ObjectKey: "Q", K: 2, RequiredTags: []string{"q"}},
	}
	_, err := Match([32]byte{}, objects, pool)
	var inf *InfeasibleError
	if !errors.As(err, &inf) || !reflect.DeepEqual(inf.Objects, []Infeasible{{"Q", 5, 0}}) {
		t.Fatalf("err = %v, want Q infeasible (eligible 5, available 0)", err)
	}
}

// hv collisions are too rare to meet in a test, so the last tie-break of
// step 3 is checked directly: load first, then hv, then the key bytewise.
func TestCandidateOrder(t *testing.T) {
	ordered := []candidate{
		{load: 1, hv: 9, key: "Z"},
		{load: 2, hv: 1, key: "Y"},
		{load: 2, hv: 5, key: "B"},
		{load: 2, hv: 5, key: "a"}, // 'B' < 'a' bytewise
		{load: 2, hv: 5, key: "张"},
	}
	for i := range ordered {
		for j := range ordered {
			if got := ordered[i].before(&ordered[j]); got != (i < j) {
				t.Errorf("%v before %v = %v", ordered[i], ordered[j], got)
			}
		}
	}
}
