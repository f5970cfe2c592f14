package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/drawvectors"

	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// vectorProofs writes, for every draw vector of the spec, the proof the
// vector describes, and returns the proof files with their populations.
func vectorProofs(t *testing.T) (proofs, populations []string) {
	dir := drawvectors.Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
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
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, v := range vectors {
		if v.Algorithm != draw.Algorithm {
			continue
		}
		strata := v.Expected.Strata
		for i := range strata {
			q := v.Quotas[strata[i].Label]
			strata[i].Rule = &q
		}
		p := draw.Proof{
			Algorithm: draw.Algorithm, BatchID: v.BatchID, Commitment: v.Commitment, CommittedAt: at,
			PopulationHash: v.Expected.PopulationHash, FrozenAt: at.Add(time.Hour), Strata: strata,
			Beacon: v.Beacon, Nonce: v.Nonce, Seed: v.Expected.Seed, DrawnAt: at.Add(2 * time.Hour), Drawn: v.Expected.Drawn,
		}
		data, _ := json.Marshal(p)
		name := filepath.Join(out, v.BatchID+".json")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		proofs = append(proofs, name)
		populations = append(populations, filepath.Join(dir, v.PopulationFile))
	}
	if len(proofs) < 5 {
		t.Fatalf("%d draw vectors", len(proofs))
	}
	return proofs, populations
}

func TestVerifyDrawVectors(t *testing.T) {
	proofs, populations := vectorProofs(t)
	for i, proof := range proofs {
		out, errOut, err := runCLI("verify-draw", "--proof", proof, "--population", populations[i])
		if err != nil || !strings.HasPrefix(out, "MATCH: spotcheck-draw-v1, batch ") {
			t.Fatalf("%s: %v %q %q", proof, err, out, errOut)
		}
		// Every kind of tampering is caught and named.
		data, _ := os.ReadFile(proof)
		var p draw.Proof
		json.Unmarshal(data, &p)
		last := len(p.Drawn) - 1
		for field, edit := range map[string]func(p *draw.Proof){
			"drawn[" + fmt.Sprint(last) + "]": func(p *draw.Proof) { p.Drawn = p.Drawn[:last] },
			"nonce":                           func(p *draw.Proof) { p.Nonce = strings.Repeat("0", 64) },
			"seed":                            func(p *draw.Proof) { p.Beacon += "x" },
			"population_hash":                 func(p *draw.Proof) { p.PopulationHash = strings.Repeat("a", 64) },
			"strata[0].quota":                 func(p *draw.Proof) { p.Strata[0].Quota++ },
		} {
			q := p
			q.Strata = slices.Clone(p.Strata)
			edit(&q)
			data, _ := json.Marshal(q)
			forged := filepath.Join(t.TempDir(), "forged.json")
			os.WriteFile(forged, data, 0o644)
			out, _, err := runCLI("verify-draw", "--proof", forged, "--population", populations[i])
			if err == nil || exitCode(err) != 1 || !strings.HasPrefix(out, "MISMATCH: "+field+": ") {
				t.Errorf("%s with %s changed: %v %q", proof, field, err, out)
			}
		}
	}
	if _, _, err := runCLI("verify-draw", "--proof", proofs[0]); err == nil || exitCode(err) != 2 {
		t.Errorf("without --population: %v", err)
	}
	if _, _, err := runCLI("verify-draw", "--proof", proofs[0], "--population", "/nonexistent.tsv"); err == nil || exitCode(err) != 1 {
		t.Errorf("missing population: %v", err)
	}
}

// The independent Python implementation of docs/ agrees on every vector.
func TestPythonVerifierOnVectors(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	root, _ := testenv.ModuleRoot()
	proofs, populations := vectorProofs(t)
	for i, proof := range proofs {
		out, err := exec.Command(python, filepath.Join(root, "docs", "verify_draw.py"), "--proof", proof, "--population", populations[i]).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "MATCH" {
			t.Errorf("%s: %v %s", proof, err, out)
		}
	}
}

// A proof served by a running system, over real PostgreSQL, verifies; an
// unknown or undrawn batch is a clear error.
func TestVerifyDrawServedProof(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	var b [4]byte
	rand.Read(b[:])
	sfx := strings.ToUpper(hex.EncodeToString(b[:]))
	item := "VD-" + sfx
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("91%s%05d", sfx, i))
	}
	if _, err := db.Exec(`INSERT INTO check_items (code, version, name, object_kind, object_tags, methods, class, default_ratio, effective_from, published)
		VALUES ($1, 1, '测试事项', 'enterprise', ARRAY[$1], '{on_site}', 'general', '0.1', '2026-01-01', true)`, item); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO objects (key, kind, name, region_code, risk_level, tags)
		SELECT k, 'enterprise', '企业', (ARRAY['330402','330411','330483'])[1 + n % 3], (ARRAY['low','high'])[1 + n % 2], ARRAY[$2]
		FROM unnest($1::text[]) WITH ORDINALITY AS u (k, n)`, pq.Array(keys), item); err != nil {
		t.Fatal(err)
	}
	svc := batch.NewService(db)
	id := "VD-" + sfx
	if _, err := svc.Create(ctx, batch.CreateRequest{ID: id, Rules: batch.Rules{
		Items: []batch.ItemRef{{Code: item, Version: 1}}, StrataKeys: []string{"risk", "region"},
		Quotas: []batch.QuotaRule{{When: map[string]string{"risk": "high"}, Ratio: "0.3"}},
	}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apicontract.Wrap(t, api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry()})))
	defer srv.Close()
	proofURL := srv.URL + "/public/batches/" + id + "/draw-proof"
	popURL := srv.URL + "/public/batches/" + id + "/population.tsv"

	if _, err := svc.Freeze(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI("verify-draw", "--proof", proofURL, "--population", popURL)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "once it is drawn") {
		t.Fatalf("before the draw: %v", err)
	}
	if _, err := svc.Draw(ctx, id, "beacon"); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI("verify-draw", "--proof", proofURL, "--population", popURL)
	if err != nil || !strings.HasPrefix(out, "MATCH: spotcheck-draw-v1, batch "+id+": ") || !strings.Contains(out, "population of 300 in 6 strata") {
		t.Fatalf("served proof: %v %q %q", err, out, errOut)
	}
	// The population of another batch does not fit this proof.
	var tsv bytes.Buffer
	if err := svc.WritePopulation(ctx, id, &tsv); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tsv")
	lines := strings.SplitAfter(tsv.String(), "\n")
	os.WriteFile(cut, []byte(strings.Join(lines[1:], "")), 0o644)
	out, _, err = runCLI("verify-draw", "--proof", proofURL, "--population", cut)
	if err == nil || !strings.HasPrefix(out, "MISMATCH: population_hash: ") {
		t.Fatalf("another population: %v %q", err, out)
	}
	_, _, err = runCLI("verify-draw", "--proof", srv.URL+"/public/batches/nope/draw-proof", "--population", popURL)
	if err == nil || !strings.Contains(err.Error(), "there is no batch nope") {
		t.Fatalf("unknown batch: %v", err)
	}
}
