package draw

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// A Proof is the public record of a batch's draw, section 3 of DRAW-SPEC.md,
// served with the population in canonical form (see [WritePopulation]).
// Anyone holding both can recompute the draw with [Verify].
//
// The JSON names are the spec's. Two fields are additions: Strata[].Rule
// (see [Stratum]) and Seed, which is derived from BatchID, Nonce and Beacon
// and recorded so that a changed beacon or batch ID is caught even when it
// would not change the drawn list (a stratum drawn whole, for instance).
// Both may be absent from a proof made elsewhere; [Verify] then checks
// less.
type Proof struct {
	Algorithm   string    `json:"algorithm"` // always [Algorithm]
	BatchID     string    `json:"batch_id"`
	Commitment  string    `json:"commitment"` // [Commitment] of the nonce, published when the batch was created
	CommittedAt time.Time `json:"committed_at"`
	// PopulationHash is what [WritePopulation] returned at freeze time.
	PopulationHash string    `json:"population_hash"`
	FrozenAt       time.Time `json:"frozen_at"`
	Strata         []Stratum `json:"strata"` // from [Result]
	// Beacon may be empty: the draw then rests on the commitment alone.
	Beacon  string    `json:"beacon"`
	Nonce   string    `json:"nonce"`          // lowercase hex, revealed after the draw
	Seed    string    `json:"seed,omitempty"` // lowercase hex of [Seed](BatchID, nonce, Beacon)
	DrawnAt time.Time `json:"drawn_at"`
	Drawn   []Entry   `json:"drawn"` // from [Result]
}

// A Mismatch is the first difference [Verify] found between a proof and
// what it recomputed from the proof's inputs and the population.
type Mismatch struct {
	// Field locates the difference in the proof, such as
	// "drawn[17].object_key", or in the population, such as
	// "population line 12".
	Field string
	// Detail says what differs, such as
	// `proof says "X", recomputed "Y"`.
	Detail string
}

func (m *Mismatch) Error() string {
	return "MISMATCH " + m.Field + ": " + m.Detail
}

func mismatch(field, format string, args ...any) *Mismatch {
	return &Mismatch{Field: field, Detail: fmt.Sprintf(format, args...)}
}

// says describes two differing values.
func says[T any](proof, recomputed T) string {
	return fmt.Sprintf("proof says %#v, recomputed %#v", proof, recomputed)
}

// Verify recomputes the draw of proof from its batch ID, nonce, beacon and
// strata and from population, the canonical population published with it,
// and checks every field that can be checked, in the order of the events:
// the nonce against the commitment, the seed, the order of the recorded
// times, the population against population_hash, each stratum's
// population and quota, and the drawn list, entry by entry.
//
// It returns nil if everything agrees, a *[Mismatch] describing the first
// difference otherwise, and any other error only if population could not be
// read. A quota is recomputed from its stratum's rule when the proof
// records one; otherwise it is only checked to be at most the stratum's
// population, and the drawn list is recomputed with it.
func Verify(proof Proof, population io.Reader) error {
	if proof.Algorithm != Algorithm {
		return mismatch("algorithm", "%q is not %q, the algorithm this verifier implements", proof.Algorithm, Algorithm)
	}
	if problem := textProblem(proof.BatchID); problem != "" {
		return mismatch("batch_id", "%s", problem)
	}
	if problem := textProblem(proof.Beacon); problem != "" {
		return mismatch("beacon", "%s", problem)
	}
	nonce, err := hex.DecodeString(proof.Nonce)
	// Re-encoding refuses upper case, so that no byte of the proof can
	// change without the verdict changing.
	if err != nil || len(nonce) != NonceSize || hex.EncodeToString(nonce) != proof.Nonce {
		return mismatch("nonce", "%q is not %d bytes in lowercase hex", proof.Nonce, NonceSize)
	}
	if c := Commitment(nonce); proof.Commitment != c {
		// The commitment was published long before the nonce, so the
		// nonce is the suspect.
		return mismatch("nonce", "its SHA-256 is %q, but commitment says %q", c, proof.Commitment)
	}
	seed := Seed(proof.BatchID, nonce, proof.Beacon)
	if s := hex.EncodeToString(seed[:]); proof.Seed != "" && proof.Seed != s {
		return mismatch("seed", "proof says %q, recomputed from batch_id, nonce and beacon %q", proof.Seed, s)
	}
	if err := checkTimes(proof); err != nil {
		return err
	}

	entries, hash, err := readPopulation(population)
	if err != nil {
		return err
	}
	if proof.PopulationHash != hash {
		return mismatch("population_hash", "%s", says(proof.PopulationHash, hash))
	}
	if len(entries) == 0 {
		return mismatch("population", "is empty")
	}
	sc, err := scan(seed, entries)
	if err != nil {
		// ParsePopulation accepted entries, so this cannot happen; say
		// so rather than pass it off as a verdict.
		return fmt.Errorf("draw: verifying: %w", err)
	}

	sizes, err := checkStrata(proof.Strata, sc)
	if err != nil {
		return err
	}
	drawn := sc.pick(entries, sizes)
	for k := range max(len(drawn), len(proof.Drawn)) {
		field := "drawn[" + strconv.Itoa(k) + "]"
		switch {
		case k >= len(proof.Drawn):
			return mismatch(field, "missing: recomputed %#v in stratum %#v", drawn[k].ObjectKey, drawn[k].Stratum)
		case k >= len(drawn):
			return mismatch(field, "%#v is one more than the %d recomputed", proof.Drawn[k].ObjectKey, len(drawn))
		case proof.Drawn[k].ObjectKey != drawn[k].ObjectKey:
			return mismatch(field+".object_key", "%s", says(proof.Drawn[k].ObjectKey, drawn[k].ObjectKey))
		case proof.Drawn[k].Stratum != drawn[k].Stratum:
			return mismatch(field+".stratum", "%s", says(proof.Drawn[k].Stratum, drawn[k].Stratum))
		}
	}
	return nil
}

// checkTimes checks that the proof records the three times and that they
// are in the order of the events: commit, freeze, draw. Nothing else binds
// them.
func checkTimes(proof Proof) error {
	times := []struct {
		field string
		t     time.Time
	}{
		{"committed_at", proof.CommittedAt},
		{"frozen_at", proof.FrozenAt},
		{"drawn_at", proof.DrawnAt},
	}
	for k, x := range times {
		if x.t.IsZero() {
			return mismatch(x.field, "is missing")
		}
		if k > 0 && x.t.Before(times[k-1].t) {
			prev := times[k-1]
			return mismatch(x.field, "%s is before %s %s", x.t.Format(time.RFC3339Nano), prev.field, prev.t.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// readPopulation parses a canonical population and hashes the bytes read.
// A malformed population is a *Mismatch.
func readPopulation(r io.Reader) ([]Entry, string, error) {
	h := sha256.New()
	entries, err := ParsePopulation(io.TeeReader(r, h))
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return nil, "", mismatch("population "+fe.Field, "%s", fe.Problem)
	}
	if err != nil {
		return nil, "", err
	}
	return entries, hex.EncodeToString(h.Sum(nil)), nil
}

// checkStrata compares the proof's strata with the population's and
// returns the quota of each, in sc's order.
func checkStrata(strata []Stratum, sc *scanned) ([]int, error) {
	sizes := make([]int, len(sc.labels))
	for k := range max(len(strata), len(sc.labels)) {
		field := "strata[" + strconv.Itoa(k) + "]"
		if k >= len(strata) {
			return nil, mismatch(field, "missing: recomputed stratum %#v with %d objects", sc.labels[k], sc.counts[k])
		}
		st := strata[k]
		if k >= len(sc.labels) {
			return nil, mismatch(field, "%#v is not a stratum of the population (%d recomputed)", st.Label, len(sc.labels))
		}
		label, n := sc.labels[k], sc.counts[k]
		if st.Label != label {
			return nil, mismatch(field+".label", "%s (strata are sorted by label bytewise)", says(st.Label, label))
		}
		if st.Population != n {
			return nil, mismatch(field+".population", "%s", says(st.Population, n))
		}
		if st.Rule != nil {
			if fe := st.Rule.check(); fe != nil {
				f := field + ".rule"
				if fe.Field != "" {
					f += "." + fe.Field
				}
				return nil, mismatch(f, "%s", fe.Problem)
			}
			if q := st.Rule.size(n); st.Quota != q {
				return nil, mismatch(field+".quota", "%s by the stratum's rule", says(st.Quota, q))
			}
		} else if st.Quota < 0 || st.Quota > n {
			return nil, mismatch(field+".quota", "%d is not between 0 and the stratum's population %d", st.Quota, n)
		}
		sizes[k] = st.Quota
	}
	return sizes, nil
}
