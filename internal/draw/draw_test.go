package draw

import (
	"bytes"
	"cmp"
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

var risks = []string{"low", "normal", "raised", "high"}

// synthPopulation returns n entries with unique keys shaped like unified
// social credit codes, spread over strata labels, in random order.
func synthPopulation(rng *rand.Rand, n, strata int) []Entry {
	labels := make([]string, strata)
	for s := range labels {
		labels[s] = fmt.Sprintf("item=ZR-%02d;risk=%s;region=3304%02d", s/len(risks)+1, risks[s%len(risks)], s%7)
	}
	population := make([]Entry, n)
	for i := range population {
		// The index makes keys unique; the random part spreads them.
		population[i] = Entry{
			ObjectKey: fmt.Sprintf("913304%02d%010d", rng.IntN(100), i),
			Stratum:   labels[rng.IntN(strata)],
		}
	}
	rng.Shuffle(n, func(i, j int) { population[i], population[j] = population[j], population[i] })
	return population
}

func synthQuotas(rng *rand.Rand, population []Entry) map[string]Quota {
	ratios := []string{"0", "0.01", "0.05", "0.1", "0.3", "0.5", "0.999", "1"}
	quotas := make(map[string]Quota)
	for _, e := range population {
		if _, ok := quotas[e.Stratum]; ok {
			continue
		}
		switch rng.IntN(3) {
		case 0:
			quotas[e.Stratum] = Quota{Count: count(rng.IntN(60))}
		case 1:
			quotas[e.Stratum] = Quota{Ratio: ratios[rng.IntN(len(ratios))]}
		default:
			quotas[e.Stratum] = Quota{Ratio: ratios[rng.IntN(len(ratios))], Min: rng.IntN(20)}
		}
	}
	return quotas
}

// referenceDraw is the spec read literally: sort every stratum whole.
func referenceDraw(seed [32]byte, population []Entry, quotas map[string]Quota) []Entry {
	type valued struct {
		v uint64
		e Entry
	}
	byStratum := make(map[string][]valued)
	for _, e := range population {
		mac := hmac.New(sha256.New, seed[:])
		mac.Write([]byte(e.ObjectKey))
		v := binary.BigEndian.Uint64(mac.Sum(nil))
		byStratum[e.Stratum] = append(byStratum[e.Stratum], valued{v, e})
	}
	drawn := []Entry{}
	for _, label := range slices.Sorted(func(yield func(string) bool) {
		for l := range byStratum {
			if !yield(l) {
				return
			}
		}
	}) {
		s := byStratum[label]
		slices.SortFunc(s, func(a, b valued) int {
			return cmp.Or(cmp.Compare(a.v, b.v), cmp.Compare(a.e.ObjectKey, b.e.ObjectKey))
		})
		n, err := quotas[label].Size(len(s))
		if err != nil {
			panic(err)
		}
		for _, x := range s[:n] {
			drawn = append(drawn, x.e)
		}
	}
	return drawn
}

func testSeed(k int) [32]byte {
	return Seed("test", binary.BigEndian.AppendUint64(make([]byte, 24), uint64(k)), "")
}

func TestDrawMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// The last sizes are above parallelMin, to cover the parallel paths.
	for k, n := range []int{1, 2, 7, 50, 300, 2000, 40000, 100000} {
		population := synthPopulation(rng, n, 1+rng.IntN(40))
		quotas := synthQuotas(rng, population)
		seed := testSeed(k)
		res, err := Draw(seed, population, quotas)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceDraw(seed, population, quotas); !slices.Equal(res.Drawn, want) {
			t.Errorf("n=%d: Draw differs from the reference", n)
		}
		total := 0
		for _, st := range res.Strata {
			total += st.Population
			if want, _ := st.Rule.Size(st.Population); st.Quota != want {
				t.Errorf("n=%d: stratum %s: quota %d, rule gives %d", n, st.Label, st.Quota, want)
			}
		}
		if total != n {
			t.Errorf("n=%d: strata add up to %d", n, total)
		}
	}
}

func TestDrawIndependentOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{500, 50000} {
		population := synthPopulation(rng, n, 12)
		quotas := synthQuotas(rng, population)
		seed := testSeed(n)
		want, err := Draw(seed, population, quotas)
		if err != nil {
			t.Fatal(err)
		}
		sorted := slices.SortedFunc(slices.Values(population), func(a, b Entry) int {
			return strings.Compare(a.ObjectKey, b.ObjectKey)
		})
		orders := [][]Entry{sorted}
		for range 3 {
			p := slices.Clone(population)
			rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
			orders = append(orders, p)
		}
		for _, p := range orders {
			before := slices.Clone(p)
			got, err := Draw(seed, p, quotas)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d: result depends on the order of the population", n)
			}
			if !slices.Equal(p, before) {
				t.Fatalf("n=%d: Draw modified the population", n)
			}
		}
	}
}

// TestDrawUniform checks that every object of a stratum is drawn equally
// often: 10,000 draws of 5 among 20.
func TestDrawUniform(t *testing.T) {
	const (
		objects = 20
		quota   = 5
		draws   = 10000
		// The 99.9% quantile of the chi-square distribution with
		// objects-1 = 19 degrees of freedom.
		critical = 43.820
	)
	population := make([]Entry, objects)
	for i := range population {
		population[i] = Entry{ObjectKey: fmt.Sprintf("91330402MA%08d", i), Stratum: "s"}
	}
	quotas := map[string]Quota{"s": {Count: count(quota)}}
	var hits [objects]int
	index := make(map[string]int)
	for i, e := range population {
		index[e.ObjectKey] = i
	}
	for k := range draws {
		res, err := Draw(testSeed(k), population, quotas)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Drawn {
			hits[index[e.ObjectKey]]++
		}
	}
	// Each draw includes an object with probability p = quota/objects, so
	// a count has variance draws·p·(1-p); the counts of one draw are
	// negatively correlated (they add up to quota), which makes the
	// covariance draws·p·(1-p)·objects/(objects-1)·(I - J/objects).
	// Scaled by that, the sum of squared deviations is chi-square with
	// objects-1 degrees of freedom.
	p := float64(quota) / objects
	expected := draws * p
	scale := draws * p * (1 - p) * objects / (objects - 1)
	chi2 := 0.0
	for _, h := range hits {
		d := float64(h) - expected
		chi2 += d * d / scale
	}
	t.Logf("chi-square = %.2f (19 degrees of freedom), counts %v", chi2, hits)
	if chi2 > critical {
		t.Errorf("chi-square = %.2f > %.3f: inclusion is not uniform: %v", chi2, critical, hits)
	}
}

func TestDrawStrata(t *testing.T) {
	population := []Entry{{"a", "s2"}, {"b", "s1"}, {"c", "s2"}, {"d", "s2"}}
	quotas := map[string]Quota{
		"s1": {Count: count(0)},
		"s2": {Ratio: "0.5"},
	}
	res, err := Draw(testSeed(0), population, quotas)
	if err != nil {
		t.Fatal(err)
	}
	want := []Stratum{
		{Label: "s1", Population: 1, Quota: 0},
		{Label: "s2", Population: 3, Quota: 2},
	}
	if got := withoutRules(res.Strata); !slices.Equal(got, want) {
		t.Errorf("strata = %v, want %v", got, want)
	}
	if res.Strata[1].Rule == nil || *res.Strata[1].Rule != quotas["s2"] {
		t.Errorf("strata[1].rule = %v, want %v", res.Strata[1].Rule, quotas["s2"])
	}
	if len(res.Drawn) != 2 || res.Drawn[0].Stratum != "s2" || res.Drawn[1].Stratum != "s2" {
		t.Errorf("drawn = %v", res.Drawn)
	}
	strata, err := Strata(population, quotas)
	if err != nil || !reflect.DeepEqual(strata, res.Strata) {
		t.Errorf("Strata = %v, %v; want %v", strata, err, res.Strata)
	}

	res, err = Draw(testSeed(0), population[:1], map[string]Quota{"s2": {Count: count(0)}})
	if err != nil || res.Drawn == nil || len(res.Drawn) != 0 {
		t.Errorf("Draw with quota 0 = %#v, %v; want an empty, non-nil drawn list", res.Drawn, err)
	}
}

func TestDrawInvalid(t *testing.T) {
	ok := []Entry{{"a", "s"}, {"b", "s"}}
	big := synthPopulation(rand.New(rand.NewPCG(7, 8)), 40000, 3)
	bigDup := slices.Clone(big)
	bigDup[31000].ObjectKey = bigDup[123].ObjectKey
	bigDup[39000].ObjectKey = bigDup[5].ObjectKey
	bigQuotas := synthQuotas(rand.New(rand.NewPCG(9, 10)), big)
	s := map[string]Quota{"s": {Count: count(1)}}
	tests := []struct {
		name       string
		population []Entry
		quotas     map[string]Quota
		want       string
	}{
		{"empty population", nil, s, "population: is empty"},
		{"ratio abc", ok, map[string]Quota{"s": {Ratio: "abc"}}, `quotas["s"].ratio: "abc" is not a decimal number such as "0.05"`},
		{"ratio -0.1", ok, map[string]Quota{"s": {Ratio: "-0.1"}}, `quotas["s"].ratio: "-0.1" is negative`},
		{"ratio 1.5", ok, map[string]Quota{"s": {Ratio: "1.5"}}, `quotas["s"].ratio: "1.5" is above 1`},
		{"missing quota", append(slices.Clone(ok), Entry{"c", "t"}), s, `quotas["t"]: is missing (the stratum has population 1)`},
		{"quota of an empty stratum", ok, map[string]Quota{"s": {Count: count(1)}, "planned": {Ratio: "0.1"}}, `quotas["planned"]: is for a stratum with no object in the population`},
		{"adjacent duplicate", []Entry{{"a", "s"}, {"a", "s"}}, s, `population[1].object_key: "a" is also population[0]'s key`},
		{"duplicate across strata", []Entry{{"b", "s"}, {"a", "t"}, {"b", "t"}}, map[string]Quota{"s": {Count: count(1)}, "t": {Count: count(1)}}, `population[2].object_key: "b" is also population[0]'s key`},
		{"duplicates in a large population", bigDup, bigQuotas, fmt.Sprintf("population[31000].object_key: %q is also population[123]'s key", big[123].ObjectKey)},
		{"empty key", []Entry{{"a", "s"}, {"", "s"}}, s, "population[1].object_key: is empty"},
		{"key with TAB", []Entry{{"a\tb", "s"}}, s, "population[0].object_key: contains a TAB at byte 1"},
		{"label with LF", []Entry{{"a", "s\n"}}, s, "population[0].stratum: contains an LF at byte 1"},
	}
	for _, tt := range tests {
		_, err := Draw(testSeed(0), tt.population, tt.quotas)
		fe, ok := errors.AsType[*FieldError](err)
		if !ok || fe.Error() != tt.want {
			t.Errorf("%s: Draw = %v, want %s", tt.name, err, tt.want)
		}
		if strings.Contains(tt.name, "duplicate") {
			continue // Strata leaves duplicates to WritePopulation
		}
		_, err = Strata(tt.population, tt.quotas)
		if fe, ok := errors.AsType[*FieldError](err); !ok || fe.Error() != tt.want {
			t.Errorf("%s: Strata = %v, want %s", tt.name, err, tt.want)
		}
	}
}

func TestValidateText(t *testing.T) {
	for _, beacon := range []string{"", "witness-a|witness-b", "2026-03-02 第1轮"} {
		if err := ValidateText("beacon", beacon); err != nil {
			t.Errorf("ValidateText(%q) = %v", beacon, err)
		}
	}
	for beacon, want := range map[string]string{
		"a\tb":   "beacon: contains a TAB at byte 1",
		"a\nb":   "beacon: contains an LF at byte 1",
		"a\r\nb": "beacon: contains a CR at byte 1",
		"\x00":   "beacon: contains a NUL byte at byte 0",
		"\xc3(":  "beacon: is not valid UTF-8",
	} {
		err := ValidateText("beacon", beacon)
		if fe, ok := errors.AsType[*FieldError](err); !ok || fe.Error() != want {
			t.Errorf("ValidateText(%q) = %v, want %s", beacon, err, want)
		}
	}
}

// TestSelectTies checks selection when values collide, which HMAC makes
// too rare to meet otherwise: the key breaks the tie.
func TestSelectTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		n := 1 + rng.IntN(300)
		population := make([]Entry, n)
		items := make([]item, n)
		for i := range items {
			population[i].ObjectKey = fmt.Sprintf("k%05d", rng.IntN(1_000_000)*1000+i)
			items[i] = item{v: uint64(rng.IntN(4)), i: int32(i)}
		}
		compare := func(a, b item) int {
			return cmp.Or(cmp.Compare(a.v, b.v), strings.Compare(population[a.i].ObjectKey, population[b.i].ObjectKey))
		}
		want := slices.Clone(items)
		slices.SortFunc(want, compare)
		k := rng.IntN(n + 1)
		selectSmallest(items, k, compare)
		slices.SortFunc(items[:k], compare)
		if !slices.Equal(items[:k], want[:k]) {
			t.Fatalf("selectSmallest(%d of %d) picked %v, want %v", k, n, items[:k], want[:k])
		}
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 2, 10, 1000, 100000} {
		a := make([]uint64, n)
		for i := range a {
			a[i] = rng.Uint64() >> rng.IntN(64)
		}
		want := slices.Sorted(slices.Values(a))
		if got := radixSort(a); !slices.Equal(got, want) {
			t.Fatalf("radixSort of %d values is wrong", n)
		}
	}
}

func BenchmarkDraw1M40Strata(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	population := synthPopulation(rng, 1_000_000, 40)
	ratios := []string{"0.01", "0.02", "0.05", "0.1", "0.3"}
	quotas := make(map[string]Quota)
	for k, e := range population {
		if _, ok := quotas[e.Stratum]; !ok {
			quotas[e.Stratum] = Quota{Ratio: ratios[k%len(ratios)], Min: 1}
		}
	}
	// The canonical population is read back from its TSV, as Verify and a
	// freeze from a file do: its keys then lie in memory in key order. The
	// shuffled one's keys are scattered, and reading them costs cache
	// misses.
	var tsv bytes.Buffer
	if _, err := WritePopulation(&tsv, population); err != nil {
		b.Fatal(err)
	}
	sorted, err := ParsePopulation(&tsv)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name       string
		population []Entry
	}{{"shuffled", population}, {"canonical", sorted}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Draw(testSeed(0), bb.population, quotas); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
