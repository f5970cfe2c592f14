package draw

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"
)

type drawVector struct {
	Algorithm      string           `json:"algorithm"`
	BatchID        string           `json:"batch_id"`
	Nonce          string           `json:"nonce"`
	Commitment     string           `json:"commitment"`
	Beacon         string           `json:"beacon"`
	Quotas         map[string]Quota `json:"quotas"`
	PopulationFile string           `json:"population_file"`
	Expected       struct {
		Seed           string    `json:"seed"`
		PopulationHash string    `json:"population_hash"`
		Strata         []Stratum `json:"strata"`
		Drawn          []Entry   `json:"drawn"`
	} `json:"expected"`
}

func loadDrawVectors(t *testing.T) (dir string, vectors []drawVector) {
	t.Helper()
	dir = drawvectors.Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatalf("vectors.json: %v", err)
	}
	for k, raw := range all {
		var v drawVector
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("vectors.json case %d: %v", k, err)
		}
		if v.Algorithm == Algorithm {
			vectors = append(vectors, v)
		}
	}
	if len(vectors) == 0 {
		t.Fatalf("vectors.json has no %q case", Algorithm)
	}
	return dir, vectors
}

func TestVectors(t *testing.T) {
	dir, vectors := loadDrawVectors(t)
	for _, v := range vectors {
		t.Run(v.BatchID, func(t *testing.T) {
			nonce, err := hex.DecodeString(v.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			if got := Commitment(nonce); got != v.Commitment {
				t.Errorf("commitment = %s, want %s", got, v.Commitment)
			}
			seed := Seed(v.BatchID, nonce, v.Beacon)
			if got := hex.EncodeToString(seed[:]); got != v.Expected.Seed {
				t.Errorf("seed = %s, want %s", got, v.Expected.Seed)
			}

			file, err := os.ReadFile(filepath.Join(dir, v.PopulationFile))
			if err != nil {
				t.Fatal(err)
			}
			population, err := ParsePopulation(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			var canonical bytes.Buffer
			hash, err := WritePopulation(&canonical, population)
			if err != nil {
				t.Fatal(err)
			}
			if hash != v.Expected.PopulationHash {
				t.Errorf("population_hash = %s, want %s", hash, v.Expected.PopulationHash)
			}
			if !bytes.Equal(canonical.Bytes(), file) {
				t.Errorf("WritePopulation does not reproduce %s byte for byte", v.PopulationFile)
			}

			res, err := Draw(seed, population, v.Quotas)
			if err != nil {
				t.Fatal(err)
			}
			if got := withoutRules(res.Strata); !slices.Equal(got, v.Expected.Strata) {
				t.Errorf("strata = %v\nwant %v", got, v.Expected.Strata)
			}
			if !slices.Equal(res.Drawn, v.Expected.Drawn) {
				t.Errorf("drawn = %v\nwant %v", res.Drawn, v.Expected.Drawn)
			}

			// The order of the population must not matter.
			shuffled := slices.Clone(population)
			slices.Reverse(shuffled)
			res2, err := Draw(seed, shuffled, v.Quotas)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res2.Drawn, v.Expected.Drawn) {
				t.Errorf("drawn from the reversed population differs")
			}

			// A proof built from the vector verifies against its file,
			// with and without the additions to the spec's fields.
			at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			proof := Proof{
				Algorithm:      Algorithm,
				BatchID:        v.BatchID,
				Commitment:     v.Commitment,
				CommittedAt:    at,
				PopulationHash: v.Expected.PopulationHash,
				FrozenAt:       at.Add(time.Hour),
				Strata:         v.Expected.Strata,
				Beacon:         v.Beacon,
				Nonce:          v.Nonce,
				DrawnAt:        at.Add(2 * time.Hour),
				Drawn:          v.Expected.Drawn,
			}
			if err := Verify(proof, bytes.NewReader(file)); err != nil {
				t.Errorf("Verify(spec fields only) = %v", err)
			}
			proof.Seed = v.Expected.Seed
			proof.Strata = res.Strata
			if err := Verify(proof, bytes.NewReader(file)); err != nil {
				t.Errorf("Verify(with seed and rules) = %v", err)
			}
		})
	}
}

// withoutRules returns strata as the spec lists them, without rules.
func withoutRules(strata []Stratum) []Stratum {
	out := slices.Clone(strata)
	for k := range out {
		out[k].Rule = nil
	}
	return out
}
