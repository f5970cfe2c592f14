package draw

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testProof draws from a synthetic population and returns the proof and
// the canonical population published with it.
func testProof(t *testing.T, n int) (Proof, []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	population := synthPopulation(rng, n, 5)
	quotas := synthQuotas(rng, population)
	var tsv bytes.Buffer
	hash, err := WritePopulation(&tsv, population)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, NonceSize)
	for i := range nonce {
		nonce[i] = byte(rng.Uint32())
	}
	const batchID, beacon = "2026-ZR-042", "witness-a|witness-b"
	seed := Seed(batchID, nonce, beacon)
	res, err := Draw(seed, population, quotas)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	return Proof{
		Algorithm:      Algorithm,
		BatchID:        batchID,
		Commitment:     Commitment(nonce),
		CommittedAt:    at,
		PopulationHash: hash,
		FrozenAt:       at.Add(24 * time.Hour),
		Strata:         res.Strata,
		Beacon:         beacon,
		Nonce:          hex.EncodeToString(nonce),
		Seed:           hex.EncodeToString(seed[:]),
		DrawnAt:        at.Add(25 * time.Hour),
		Drawn:          res.Drawn,
	}, tsv.Bytes()
}

// cloneProof returns a deep copy of p, through JSON as a client would.
func cloneProof(t *testing.T, p Proof) Proof {
	t.Helper()
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

func TestProofJSON(t *testing.T) {
	proof, _ := testProof(t, 200)
	data, err := json.Marshal(proof)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{"algorithm", "batch_id", "beacon", "commitment", "committed_at", "drawn", "drawn_at", "frozen_at", "nonce", "population_hash", "seed", "strata"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("proof fields = %v, want %v", got, want)
	}
	var strata []map[string]json.RawMessage
	json.Unmarshal(fields["strata"], &strata)
	if _, ok := strata[0]["label"]; !ok || len(strata[0]) != 4 {
		t.Errorf("strata[0] = %v, want label, population, quota and rule", strata[0])
	}
	var drawn []map[string]string
	json.Unmarshal(fields["drawn"], &drawn)
	if len(drawn[0]) != 2 || drawn[0]["object_key"] == "" || drawn[0]["stratum"] == "" {
		t.Errorf("drawn[0] = %v, want object_key and stratum", drawn[0])
	}
	if !bytes.Contains(data, []byte(`"committed_at":"2026-03-02T09:30:00+08:00"`)) {
		t.Errorf("committed_at is not RFC 3339 in %s", data[:200])
	}
	// Times come back as the same instants in an unnamed zone.
	clone := cloneProof(t, proof)
	if !clone.CommittedAt.Equal(proof.CommittedAt) || !clone.FrozenAt.Equal(proof.FrozenAt) || !clone.DrawnAt.Equal(proof.DrawnAt) {
		t.Errorf("times do not survive JSON")
	}
	clone.CommittedAt, clone.FrozenAt, clone.DrawnAt = proof.CommittedAt, proof.FrozenAt, proof.DrawnAt
	if !reflect.DeepEqual(clone, proof) {
		t.Errorf("proof does not survive JSON")
	}
}

func TestVerify(t *testing.T) {
	proof, population := testProof(t, 3000)
	if err := Verify(cloneProof(t, proof), bytes.NewReader(population)); err != nil {
		t.Fatalf("Verify(genuine proof) = %v", err)
	}

	// Each tampering must be caught, and named.
	line := bytes.IndexByte(population, '\n') + 1 // start of line 2
	label := line + bytes.IndexByte(population[line:], '\t') + 1
	tests := []struct {
		name   string
		tamper func(p *Proof, population []byte)
		field  string
		detail string
	}{
		{"drawn key", func(p *Proof, _ []byte) { p.Drawn[17].ObjectKey = flip(p.Drawn[17].ObjectKey, 5) }, "drawn[17].object_key", "proof says"},
		{"drawn stratum", func(p *Proof, _ []byte) { p.Drawn[3].Stratum += "x" }, "drawn[3].stratum", "proof says"},
		{"drawn order", func(p *Proof, _ []byte) { p.Drawn[1], p.Drawn[2] = p.Drawn[2], p.Drawn[1] }, "drawn[1].object_key", "recomputed"},
		{"drawn entry removed", func(p *Proof, _ []byte) { p.Drawn = p.Drawn[:len(p.Drawn)-1] }, "drawn[" + strconv.Itoa(len(proof.Drawn)-1) + "]", "missing"},
		{"nonce", func(p *Proof, _ []byte) { p.Nonce = flip(p.Nonce, 0) }, "nonce", "commitment says"},
		{"nonce upper case", func(p *Proof, _ []byte) { p.Nonce = strings.ToUpper(p.Nonce) }, "nonce", "lowercase hex"},
		{"commitment", func(p *Proof, _ []byte) { p.Commitment = flip(p.Commitment, 63) }, "nonce", "commitment says"},
		{"beacon", func(p *Proof, _ []byte) { p.Beacon = flip(p.Beacon, 0) }, "seed", "batch_id, nonce and beacon"},
		{"beacon, no seed recorded", func(p *Proof, _ []byte) { p.Beacon = flip(p.Beacon, 0); p.Seed = "" }, "drawn[0].object_key", "proof says"},
		{"batch_id", func(p *Proof, _ []byte) { p.BatchID = flip(p.BatchID, 3) }, "seed", "recomputed"},
		{"population line", func(_ *Proof, pop []byte) { pop[label+5] ^= 1 }, "population_hash", "proof says"},
		{"population line order", func(_ *Proof, pop []byte) { pop[line] = '0' }, "population line 2", "sorts before"},
		{"population_hash", func(p *Proof, _ []byte) { p.PopulationHash = flip(p.PopulationHash, 10) }, "population_hash", "recomputed"},
		{"stratum population", func(p *Proof, _ []byte) { p.Strata[2].Population++ }, "strata[2].population", "proof says"},
		{"stratum quota", func(p *Proof, _ []byte) { p.Strata[2].Quota++ }, "strata[2].quota", "by the stratum's rule"},
		{"stratum quota without rule", func(p *Proof, _ []byte) { p.Strata[2].Rule = nil; p.Strata[2].Quota = p.Strata[2].Population + 1 }, "strata[2].quota", "is not between 0"},
		{"stratum rule", func(p *Proof, _ []byte) { p.Strata[2].Rule = &Quota{Ratio: "1.5"} }, "strata[2].rule.ratio", "above 1"},
		{"stratum missing", func(p *Proof, _ []byte) { p.Strata = slices.Delete(p.Strata, 1, 2) }, "strata[1].label", "proof says"},
		{"stratum label", func(p *Proof, _ []byte) { p.Strata[1].Label += "x" }, "strata[1].label", "proof says"},
		{"stratum added", func(p *Proof, _ []byte) {
			p.Strata = append(p.Strata, Stratum{Label: "item=ZR-09", Rule: &Quota{Ratio: "0.05"}})
		}, "strata[" + strconv.Itoa(len(proof.Strata)) + "]", "not a stratum of the population"},
		{"algorithm", func(p *Proof, _ []byte) { p.Algorithm = "spotcheck-draw-v2" }, "algorithm", "spotcheck-draw-v2"},
		{"times out of order", func(p *Proof, _ []byte) { p.DrawnAt = p.CommittedAt.Add(-time.Second) }, "drawn_at", "is before frozen_at"},
		{"time missing", func(p *Proof, _ []byte) { p.FrozenAt = time.Time{} }, "frozen_at", "is missing"},
		{"beacon with LF", func(p *Proof, _ []byte) { p.Beacon += "\n" }, "beacon", "contains an LF"},
	}
	for _, tt := range tests {
		p, pop := cloneProof(t, proof), slices.Clone(population)
		tt.tamper(&p, pop)
		err := Verify(p, bytes.NewReader(pop))
		m, ok := errors.AsType[*Mismatch](err)
		if !ok || m.Field != tt.field || !strings.Contains(m.Detail, tt.detail) {
			t.Errorf("%s: Verify = %v; want a mismatch of %s saying %q", tt.name, err, tt.field, tt.detail)
			continue
		}
		if !strings.HasPrefix(err.Error(), "MISMATCH "+tt.field+": ") {
			t.Errorf("%s: error %q does not start with MISMATCH and the field", tt.name, err)
		}
	}
}

// TestVerifyEveryByte changes each byte of a proof's JSON and of its
// population in turn: every change that reaches a checked value must be a
// mismatch.
func TestVerifyEveryByte(t *testing.T) {
	proof, population := testProof(t, 60)
	if err := Verify(proof, bytes.NewReader(population)); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(proof)
	if err != nil {
		t.Fatal(err)
	}
	unchecked := 0
	for k := range data {
		for _, delta := range []byte{1, 0x20} {
			changed := slices.Clone(data)
			changed[k] ^= delta
			var p Proof
			if json.Unmarshal(changed, &p) != nil {
				continue // not a proof any more
			}
			err := Verify(p, bytes.NewReader(population))
			if _, ok := errors.AsType[*Mismatch](err); ok {
				continue
			}
			if err != nil {
				t.Fatalf("byte %d: Verify = %v, want a *Mismatch", k, err)
			}
			// Nothing is bound to the times but their order, a rule
			// is only checked through the quota it gives, and the
			// additions to the spec's fields may be dropped. JSON
			// also reads field names case-insensitively.
			q := cloneProof(t, proof)
			q.CommittedAt, q.FrozenAt, q.DrawnAt = p.CommittedAt, p.FrozenAt, p.DrawnAt
			for s := range q.Strata {
				q.Strata[s].Rule = p.Strata[s].Rule
			}
			if p.Seed == "" {
				q.Seed = ""
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("byte %d changed from %q to %q: Verify accepts %s", k, data[k], changed[k], changed)
			}
			unchecked++
		}
	}
	t.Logf("%d of %d one-byte changes left the checked values alone", unchecked, 2*len(data))

	for k := range population {
		changed := slices.Clone(population)
		changed[k] ^= 1
		if _, ok := errors.AsType[*Mismatch](Verify(proof, bytes.NewReader(changed))); !ok {
			t.Errorf("population byte %d changed: no mismatch", k)
		}
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}
