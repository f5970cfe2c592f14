package match

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// referenceReplace is the replacement rule written plainly.
func referenceReplace(seed [32]byte, o Object, team []string, pool []Inspector) (string, bool) {
	hv := func(s string) uint64 {
		m := hmac.New(sha256.New, seed[:])
		m.Write([]byte(s))
		return binary.BigEndian.Uint64(m.Sum(nil))
	}
	var best *Inspector
	for i := range pool {
		in := &pool[i]
		if slices.Contains(team, in.InspectorKey) || !isEligible(o, *in) || in.InitialLoad >= in.MaxLoad {
			continue
		}
		if best == nil || in.InitialLoad < best.InitialLoad ||
			in.InitialLoad == best.InitialLoad && (hv("m|"+o.ObjectKey+"|"+in.InspectorKey) < hv("m|"+o.ObjectKey+"|"+best.InspectorKey) ||
				hv("m|"+o.ObjectKey+"|"+in.InspectorKey) == hv("m|"+o.ObjectKey+"|"+best.InspectorKey) && in.InspectorKey < best.InspectorKey) {
			best = in
		}
	}
	if best == nil {
		return "", false
	}
	return best.InspectorKey, true
}

func TestReplaceAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var found, none int
	for iter := range 3000 {
		seed, objects, pool := randomCase(r)
		if len(objects) == 0 || len(pool) == 0 {
			continue
		}
		o := objects[0]
		// A team of two or three pool members, possibly including
		// inspectors no longer eligible (the late recusal case).
		var team []string
		for _, i := range r.Perm(len(pool))[:min(len(pool), 2+r.IntN(2))] {
			team = append(team, pool[i].InspectorKey)
		}
		replaced := team[r.IntN(len(team))]
		if r.IntN(2) == 0 {
			o.Recused = append(o.Recused, replaced)
		}
		want, ok := referenceReplace(seed, o, team, pool)
		got, err := Replace(seed, o, team, replaced, pool)
		var inf *InfeasibleError
		switch {
		case ok && err == nil:
			found++
			if got != want {
				t.Fatalf("iteration %d: Replace = %s, reference %s", iter, got, want)
			}
			if slices.Contains(team, got) || slices.Contains(o.Recused, got) {
				t.Fatalf("iteration %d: replacement %s is on the team or recused", iter, got)
			}
		case !ok && errors.As(err, &inf):
			none++
			if len(inf.Objects) != 1 || inf.Objects[0].ObjectKey != o.ObjectKey || inf.Objects[0].Available != 0 {
				t.Fatalf("iteration %d: %v", iter, err)
			}
		default:
			t.Fatalf("iteration %d: Replace = %q, %v; reference %q, %v", iter, got, err, want, ok)
		}
	}
	if found < 300 || none < 100 {
		t.Fatalf("unbalanced generator: %d replacements, %d refusals", found, none)
	}
}

func TestReplace(t *testing.T) {
	pool := []Inspector{
		{InspectorKey: "A", Tags: []string{"land"}, InitialLoad: 1, MaxLoad: 9},
		{InspectorKey: "B", Tags: []string{"land"}, InitialLoad: 1, MaxLoad: 9},
		{InspectorKey: "C", Tags: []string{"land"}, InitialLoad: 4, MaxLoad: 9},
		{InspectorKey: "D", Tags: []string{"land"}, InitialLoad: 2, MaxLoad: 9},
		{InspectorKey: "E", Tags: []string{"mining"}, InitialLoad: 0, MaxLoad: 9},
		{InspectorKey: "F", Tags: []string{"land"}, InitialLoad: 3, MaxLoad: 3},
	}
	o := Object{ObjectKey: "O1", K: 2, RequiredTags: []string{"land"}}
	seed := Seed([32]byte{1}, "330402", 2, "")

	// Today's loads decide first: D (load 2) beats C (load 4) whatever hv
	// says; E lacks the tag, F is at its cap, A and B are the team.
	got, err := Replace(seed, o, []string{"A", "B"}, "A", pool)
	if err != nil || got != "D" {
		t.Fatalf("Replace = %q, %v; want D", got, err)
	}

	// A late recusal of D: C is the only one left.
	o2 := o
	o2.Recused = []string{"D"}
	got, err = Replace(seed, o2, []string{"A", "B"}, "A", pool)
	if err != nil || got != "C" {
		t.Fatalf("Replace = %q, %v; want C", got, err)
	}

	// The replaced inspector may have left the pool (certificate lapsed).
	got, err = Replace(seed, o, []string{"X", "B"}, "X", pool)
	if err != nil || got != "A" {
		t.Fatalf("Replace = %q, %v; want A, the only candidate with load 1", got, err)
	}

	// Nobody left: a typed error with the counts.
	o3 := o
	o3.Recused = []string{"C", "D"}
	_, err = Replace(seed, o3, []string{"A", "B"}, "A", pool)
	var inf *InfeasibleError
	if !errors.As(err, &inf) {
		t.Fatalf("err = %v, want *InfeasibleError", err)
	}
	if want := (Infeasible{"O1", 1, 0}); len(inf.Objects) != 1 || inf.Objects[0] != want {
		t.Errorf("infeasible = %v, want [%v] (F eligible but at cap)", inf.Objects, want)
	}

	// The seed matters: replacement is a new round.
	picks := map[string]bool{}
	for round := 2; round < 40; round++ {
		pool2 := slices.Clone(pool)
		for i := range pool2 {
			pool2[i].InitialLoad = 0
		}
		got, err := Replace(Seed([32]byte{1}, "330402", round, ""), o, []string{"A", "B"}, "A", pool2)
		if err != nil {
			t.Fatal(err)
		}
		picks[got] = true
	}
	if len(picks) != 3 { // C, D, F
		t.Errorf("over 38 rounds the replacements were %v, want C, D and F", picks)
	}
}

func TestReplaceRejectsInvalidInput(t *testing.T) {
	pool := []Inspector{{InspectorKey: "A", MaxLoad: 1}, {InspectorKey: "B", MaxLoad: 1}}
	o := Object{ObjectKey: "O", K: 2}
	for _, tt := range []struct {
		field    string
		o        Object
		team     []string
		replaced string
		pool     []Inspector
	}{
		{"replaced", o, []string{"A", "B"}, "C", pool},
		{"team[1]", o, []string{"A", "A"}, "A", pool},
		{"team[0]", o, []string{"", "A"}, "A", pool},
		{"object.k", Object{ObjectKey: "O", K: 0}, []string{"A"}, "A", pool},
		{"inspectors[1].inspector_key", o, []string{"A"}, "A", []Inspector{{InspectorKey: "A"}, {InspectorKey: "A"}}},
	} {
		_, err := Replace([32]byte{}, tt.o, tt.team, tt.replaced, tt.pool)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("%s: err = %v", tt.field, err)
		}
	}
}

func ExampleReplace() {
	pool := []Inspector{
		{InspectorKey: "JX-1", Tags: []string{"land"}, InitialLoad: 3, MaxLoad: 20},
		{InspectorKey: "JX-2", Tags: []string{"land"}, InitialLoad: 5, MaxLoad: 20},
		{InspectorKey: "JX-3", Tags: []string{"land"}, InitialLoad: 4, MaxLoad: 20},
		{InspectorKey: "JX-4", Tags: []string{"survey"}, InitialLoad: 0, MaxLoad: 20},
	}
	object := Object{ObjectKey: "91330402MA2B1234X5", K: 2, RequiredTags: []string{"land"},
		Recused: []string{"JX-1"}} // JX-1 declared a relation after the match
	seed := Seed([32]byte{}, "330402", 2, "") // round 1 formed the team
	who, err := Replace(seed, object, []string{"JX-1", "JX-2"}, "JX-1", pool)
	fmt.Println(who, err)
	_, err = Replace(seed, object, []string{"JX-3", "JX-2"}, "JX-3", pool[1:3])
	fmt.Println(strings.ReplaceAll(err.Error(), "match: ", ""))
	// Output:
	// JX-3 <nil>
	// 1 object cannot be staffed: 91330402MA2B1234X5 (eligible 0, available 0)
}
