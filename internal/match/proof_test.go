package match

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func sampleProof(t *testing.T) Proof {
	t.Helper()
	var pool []Inspector
	for i := range 12 {
		pool = append(pool, Inspector{
			InspectorKey: fmt.Sprintf("JX330402-%04d", i),
			Tags:         tagNames[i%3 : i%3+2],
			InitialLoad:  i % 3,
			MaxLoad:      20,
		})
	}
	var objects []Object
	for j := range 20 {
		objects = append(objects, Object{
			ObjectKey:    fmt.Sprintf("9133040200000%05d", j),
			K:            2 + j%2,
			RequiredTags: tagNames[1 : 1+j%2],
			Recused:      []string{fmt.Sprintf("JX330402-%04d", j%12)},
		})
	}
	p, err := NewProof([32]byte{0xab, 9}, "330402", 1, "witness-a|witness-b", objects, pool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	p := sampleProof(t)
	if err := Verify(p); err != nil {
		t.Fatalf("Verify(NewProof) = %v", err)
	}

	// A proof survives JSON, the form in which it is stored and served.
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Proof
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := Verify(back); err != nil {
		t.Fatalf("Verify after a JSON round trip = %v", err)
	}
	if strings.Contains(string(data), "infeasible") || strings.Contains(string(data), "null") {
		t.Errorf("proof JSON has an infeasible member or a null: %s", data)
	}
}

// reJSON deep-copies a proof, so that tampering with it leaves the original
// alone.
func reJSON(t *testing.T, p Proof) Proof {
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Proof
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	return q
}

func TestVerifyReportsTampering(t *testing.T) {
	p := sampleProof(t)
	team := p.Assignments[3].Inspectors
	tests := []struct {
		name   string
		tamper func(*Proof)
		field  string
		says   string
	}{
		{"swapped team member", func(q *Proof) {
			q.Assignments[3].Inspectors[1] = "JX330402-9999"
		}, "assignments[3].inspectors[1]", "proof says JX330402-9999, recomputed " + team[1]},
		{"team order", func(q *Proof) {
			q.Assignments[3].Inspectors[0], q.Assignments[3].Inspectors[1] = team[1], team[0]
		}, "assignments[3].inspectors[0]", ""},
		{"dropped member", func(q *Proof) {
			q.Assignments[3].Inspectors = q.Assignments[3].Inspectors[:1]
		}, "assignments[3].inspectors", ""},
		{"objects reordered", func(q *Proof) {
			q.Assignments[0], q.Assignments[1] = q.Assignments[1], q.Assignments[0]
		}, "assignments[0].object_key", ""},
		{"dropped assignment", func(q *Proof) {
			q.Assignments = q.Assignments[:len(q.Assignments)-1]
		}, "assignments", "proof says 19 entries, recomputed 20 entries"},
		{"beacon", func(q *Proof) { q.Beacon = "witness-a" }, "match_seed", ""},
		{"round", func(q *Proof) { q.Round = 2 }, "match_seed", ""},
		{"draw seed", func(q *Proof) { q.DrawSeed = strings.Repeat("0", 64) }, "match_seed", ""},
		{"pool", func(q *Proof) { q.Inspectors[0].MaxLoad++ }, "pool_hash", ""},
		{"pool hash", func(q *Proof) { q.PoolHash = strings.Repeat("a", 64) }, "pool_hash", ""},
		{"objects", func(q *Proof) { q.Objects[5].K = 2 }, "assignments", ""},
		{"algorithm", func(q *Proof) { q.Algorithm = "spotcheck-match-v0" }, "algorithm", ""},
		{"infeasible added", func(q *Proof) { q.Infeasible = []Infeasible{{"x", 0, 0}} }, "infeasible", ""},
	}
	for _, tt := range tests {
		q := reJSON(t, p)
		tt.tamper(&q)
		err := Verify(q)
		var me *MismatchError
		if !errors.As(err, &me) {
			t.Errorf("%s: Verify = %v, want a mismatch", tt.name, err)
			continue
		}
		// Tampering with objects can surface at any assignment.
		if me.Field != tt.field && !strings.HasPrefix(me.Field, tt.field+"[") {
			t.Errorf("%s: mismatch on %s, want %s: %v", tt.name, me.Field, tt.field, err)
		}
		if !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v does not say %q", tt.name, err, tt.says)
		}
	}

	// Malformed proofs are refused with the offending field.
	for _, tt := range []struct {
		tamper func(*Proof)
		field  string
	}{
		{func(q *Proof) { q.DrawSeed = strings.ToUpper(q.DrawSeed) }, "draw_seed"},
		{func(q *Proof) { q.DrawSeed = q.DrawSeed[2:] }, "draw_seed"},
		{func(q *Proof) { q.Round = 0 }, "round"},
		{func(q *Proof) { q.CountyCode = "33\x0004" }, "county_code"},
		{func(q *Proof) { q.CountyCode = "" }, "county_code"},
	} {
		q := reJSON(t, p)
		tt.tamper(&q)
		var ie *InputError
		if err := Verify(q); !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("Verify = %v, want an InputError on %s", err, tt.field)
		}
	}
	q := reJSON(t, p)
	q.Objects[2].K = 1
	var ie *InputError
	if err := Verify(q); !errors.As(err, &ie) || ie.Field != "objects[2].k" {
		t.Errorf("Verify = %v, want an InputError on objects[2].k", err)
	}
}

func TestVerifyInfeasibleProof(t *testing.T) {
	pool := []Inspector{
		{InspectorKey: "A", Tags: []string{"land"}, MaxLoad: 1},
		{InspectorKey: "B", Tags: []string{"land"}, MaxLoad: 1},
		{InspectorKey: "C", Tags: []string{"land"}, MaxLoad: 1},
	}
	objects := []Object{
		{ObjectKey: "O1", K: 2, RequiredTags: []string{"land"}},
		{ObjectKey: "O2", K: 2, RequiredTags: []string{"land"}},
		{ObjectKey: "O3", K: 2, RequiredTags: []string{"marine"}},
	}
	p, err := NewProof([32]byte{3}, "330421", 1, "", objects, pool)
	var inf *InfeasibleError
	if !errors.As(err, &inf) {
		t.Fatalf("NewProof: err = %v, want *InfeasibleError", err)
	}
	if len(p.Infeasible) != 2 || p.Assignments != nil {
		t.Fatalf("proof records %v and %v", p.Infeasible, p.Assignments)
	}
	if err := Verify(p); err != nil {
		t.Fatalf("Verify = %v", err)
	}

	q := reJSON(t, p)
	q.Infeasible[1].Available++
	if err := Verify(q); err == nil || !strings.Contains(err.Error(), "infeasible[1].available: proof says 2, recomputed 1") {
		t.Errorf("Verify = %v", err)
	}
	q = reJSON(t, p)
	q.Infeasible = nil
	q.Assignments = []Assignment{{"O1", []string{"A", "B"}}}
	if err := Verify(q); err == nil || !strings.Contains(err.Error(), "assignments: proof says 1 entry, recomputed none, as 2 objects are infeasible") {
		t.Errorf("Verify = %v", err)
	}
}

func ExampleVerify() {
	pool := []Inspector{
		{InspectorKey: "JX-1", Tags: []string{"land"}, MaxLoad: 10},
		{InspectorKey: "JX-2", Tags: []string{"land"}, MaxLoad: 10},
		{InspectorKey: "JX-3", Tags: []string{"land"}, MaxLoad: 10},
	}
	objects := []Object{{ObjectKey: "91330402MA2B1234X5", K: 2, RequiredTags: []string{"land"}, Recused: []string{"JX-2"}}}
	p, err := NewProof([32]byte{}, "330402", 1, "", objects, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Assignments[0].Inspectors, Verify(p))

	p.Assignments[0].Inspectors[1] = "JX-2"
	fmt.Println(Verify(p))
	// Output:
	// [JX-1 JX-3] <nil>
	// match: proof does not verify: assignments[0].inspectors[1]: proof says JX-2, recomputed JX-3
}
