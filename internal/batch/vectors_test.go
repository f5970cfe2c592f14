package batch

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"
)

type drawVector struct {
	Algorithm      string                `json:"algorithm"`
	BatchID        string                `json:"batch_id"`
	Nonce          string                `json:"nonce"`
	Commitment     string                `json:"commitment"`
	Beacon         string                `json:"beacon"`
	Quotas         map[string]draw.Quota `json:"quotas"`
	PopulationFile string                `json:"population_file"`
	Expected       struct {
		Seed           string         `json:"seed"`
		PopulationHash string         `json:"population_hash"`
		Strata         []draw.Stratum `json:"strata"`
		Drawn          []draw.Entry   `json:"drawn"`
	} `json:"expected"`
}

// Every draw vector of the spec, replayed through the whole system: its
// objects stored in the directory, its quotas written as draw rules, its
// nonce and beacon given to the batch, which is created, frozen and drawn
// on PostgreSQL. Everything published must be what the vector expects.
func TestVectorsEndToEnd(t *testing.T) {
	dir := drawvectors.Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []drawVector
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	n := 0
	for k, v := range all {
		if v.Algorithm != draw.Algorithm {
			continue
		}
		n++
		t.Run(v.BatchID, func(t *testing.T) { replayVector(t, dir, k+1, v) })
	}
	if n < 5 {
		t.Fatalf("%d draw vectors, want at least 5", n)
	}
}

func replayVector(t *testing.T, dir string, version int, v drawVector) {
	f := newFixture(t)
	tsv, err := os.ReadFile(filepath.Join(dir, v.PopulationFile))
	if err != nil {
		t.Fatal(err)
	}

	// Items: one version per vector, whose objects carry a tag of the
	// vector's own, so that the vectors' populations stay apart.
	var objs []obj
	var codes []string
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	for sc.Scan() {
		key, label, _ := strings.Cut(sc.Text(), "\t")
		fields := labelFields(t, label)
		tag := "vector-" + f.sfx + "-" + fields["item"]
		objs = append(objs, obj{key: key, risk: fields["risk"], region: fields["region"], tags: []string{tag}})
		if !slices.Contains(codes, fields["item"]) {
			codes = append(codes, fields["item"])
		}
	}
	slices.Sort(codes)
	rules := Rules{StrataKeys: []string{"risk", "region"}, Exclusions: ExclusionRules{WindowDays: ptr(0)}}
	for _, code := range codes {
		f.exec(`INSERT INTO check_items (code, version, name, object_kind, object_tags, methods, class, default_ratio, effective_from, published)
			VALUES ($1, $2, '测试事项', 'enterprise', ARRAY[$3], '{on_site}', 'general', '0.05', '2026-01-01', true)`,
			code, version, "vector-"+f.sfx+"-"+code)
		rules.Items = append(rules.Items, ItemRef{Code: code, Version: version})
	}
	f.objects(objs)
	for _, label := range sortedQuotaLabels(v.Quotas) {
		q := v.Quotas[label]
		rules.Quotas = append(rules.Quotas, QuotaRule{When: labelFields(t, label), Count: q.Count, Ratio: q.Ratio, Min: q.Min})
	}

	nonce, _ := hex.DecodeString(v.Nonce)
	f.s.nonce = func() ([]byte, error) { return nonce, nil }
	b, err := f.s.Create(ctx, CreateRequest{ID: v.BatchID, Name: "测试向量", Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if b.Commitment != v.Commitment {
		t.Errorf("commitment %s, want %s", b.Commitment, v.Commitment)
	}
	if b, err = f.s.Freeze(ctx, v.BatchID); err != nil {
		t.Fatal(err)
	}
	if b.PopulationHash != v.Expected.PopulationHash {
		t.Errorf("population hash %s, want %s", b.PopulationHash, v.Expected.PopulationHash)
	}
	if b.PopulationBytes != int64(len(tsv)) {
		t.Errorf("population bytes %d, want %d", b.PopulationBytes, len(tsv))
	}
	if !sameStrataCounts(b.Strata, v.Expected.Strata) {
		t.Errorf("strata %+v, want %+v", b.Strata, v.Expected.Strata)
	}
	var served bytes.Buffer
	if err := f.s.WritePopulation(ctx, v.BatchID, &served); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served.Bytes(), tsv) {
		t.Errorf("served population differs from %s", v.PopulationFile)
	}

	if b, err = f.s.Draw(ctx, v.BatchID, v.Beacon); err != nil {
		t.Fatal(err)
	}
	if b.Seed != v.Expected.Seed {
		t.Errorf("seed %s, want %s", b.Seed, v.Expected.Seed)
	}
	raw, err := f.s.Proof(ctx, v.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	var proof PublicProof
	if err := json.Unmarshal(raw, &proof); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(proof.Drawn, v.Expected.Drawn) {
		t.Errorf("drawn %d objects, want %d; first %v, want %v", len(proof.Drawn), len(v.Expected.Drawn), first(proof.Drawn), first(v.Expected.Drawn))
	}
	if proof.Nonce != v.Nonce || proof.Beacon != v.Beacon || proof.PopulationHash != v.Expected.PopulationHash {
		t.Errorf("proof nonce %s beacon %q hash %s", proof.Nonce, proof.Beacon, proof.PopulationHash)
	}
	if err := draw.Verify(proof.Proof, bytes.NewReader(tsv)); err != nil {
		t.Errorf("the served proof does not verify: %v", err)
	}
	objects, _, err := f.s.Drawn(ctx, v.BatchID, "", "", 500)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objects {
		if e := v.Expected.Drawn[i]; o.Position != i+1 || o.ObjectKey != e.ObjectKey || o.Stratum != e.Stratum {
			t.Fatalf("drawn list line %d is %+v, want %+v", i, o, e)
		}
	}
}

func labelFields(t *testing.T, label string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range strings.Split(label, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("label %q", label)
		}
		m[k] = v
	}
	return m
}

func sortedQuotaLabels(q map[string]draw.Quota) []string {
	var labels []string
	for l := range q {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return labels
}

func sameStrataCounts(got, want []draw.Stratum) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].Label != want[i].Label || got[i].Population != want[i].Population || got[i].Quota != want[i].Quota {
			return false
		}
	}
	return true
}

func first(e []draw.Entry) any {
	if len(e) == 0 {
		return nil
	}
	return e[0]
}
