package match

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// countyInputs returns a large county's round: objects drawn across items
// with realistic qualification demands and recusals, and a pool of
// inspectors with one to three qualifications each.
func countyInputs(objects, inspectors int) ([]Object, []Inspector) {
	r := rand.New(rand.NewPCG(11, 12))
	pool := make([]Inspector, inspectors)
	share := map[string]int{"land": 60, "survey": 40, "leader": 30, "planning": 25, "mining": 20} // percent
	for i := range pool {
		in := Inspector{
			InspectorKey: fmt.Sprintf("JX330402-%04d", i),
			InitialLoad:  r.IntN(6),
			MaxLoad:      60 + r.IntN(41),
		}
		for _, t := range tagNames {
			if r.IntN(100) < share[t] {
				in.Tags = append(in.Tags, t)
			}
		}
		if in.Tags == nil {
			in.Tags = []string{"land"}
		}
		pool[i] = in
	}
	objs := make([]Object, objects)
	for j := range objs {
		o := Object{ObjectKey: fmt.Sprintf("9133040%010d%d", r.Uint64N(1e10), j%10), K: 2}
		if r.IntN(5) == 0 {
			o.K = 3
		}
		switch x := r.IntN(100); {
		case x < 25:
			o.RequiredTags = []string{[]string{"land", "survey"}[r.IntN(2)]}
		case x < 35:
			o.RequiredTags = []string{"mining"}
		case x < 40:
			o.RequiredTags = []string{"land", "survey"}
		}
		for range r.IntN(4) {
			o.Recused = append(o.Recused, pool[r.IntN(inspectors)].InspectorKey)
		}
		objs[j] = o
	}
	// Keys must be unique; the random part makes collisions unlikely,
	// the index makes them impossible.
	for j := range objs {
		objs[j].ObjectKey = fmt.Sprintf("%s-%d", objs[j].ObjectKey, j)
	}
	return objs, pool
}

func BenchmarkMatch5000x300(b *testing.B) {
	objects, pool := countyInputs(5000, 300)
	seed := Seed([32]byte{1}, "330402", 1, "")
	if _, err := Match(seed, objects, pool); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Match(seed, objects, pool); err != nil {
			b.Fatal(err)
		}
	}
}
