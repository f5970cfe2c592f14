package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// The public proof and population of a batch drawn on PostgreSQL, served
// over HTTP, verify with internal/draw and with the independent Python
// verifier of docs/; altered, they do not.
func TestPublicDrawDocuments(t *testing.T) {
	db := testenv.DB(t)
	item, sfx := drawFixture(t, db, 200)
	id := "PUB-" + sfx
	svc := batch.NewService(db)
	ctx := context.Background()
	var req batch.CreateRequest
	data, _ := json.Marshal(batchRequest(id, item))
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newBatchHandler(t, db))
	defer srv.Close()
	proofURL := srv.URL + "/public/batches/" + id + "/draw-proof"
	popURL := srv.URL + "/public/batches/" + id + "/population.tsv"

	frozen, err := svc.Freeze(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Population: published at the freeze, before the draw.
	resp, pop := get(t, popURL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/tab-separated-values; charset=utf-8" ||
		resp.Header.Get("ETag") != `"`+frozen.PopulationHash+`"` || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
		resp.ContentLength != int64(len(pop)) || int64(len(pop)) != frozen.PopulationBytes {
		t.Fatalf("population: %d %v (%d bytes)", resp.StatusCode, resp.Header, len(pop))
	}
	if sum := sha256.Sum256(pop); hex.EncodeToString(sum[:]) != frozen.PopulationHash {
		t.Fatal("the served population does not hash to population_hash")
	}
	if resp, _ := get(t, popURL, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("population If-None-Match: %d", resp.StatusCode)
	}
	if resp, body := get(t, proofURL); resp.StatusCode != 404 || !strings.Contains(string(body), "once it is drawn") {
		t.Fatalf("proof before the draw: %d %s", resp.StatusCode, body)
	}

	if _, err := svc.Draw(ctx, id, "2026-03-02 上证指数收盘 3350.12"); err != nil {
		t.Fatal(err)
	}
	resp, proofJSON := get(t, proofURL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("ETag") == "" {
		t.Fatalf("proof: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get(t, proofURL, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("proof If-None-Match: %d", resp.StatusCode)
	}
	var proof batch.PublicProof
	if err := json.Unmarshal(proofJSON, &proof); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"algorithm", "batch_id", "commitment", "committed_at", "population_hash", "frozen_at",
		"strata", "beacon", "nonce", "drawn_at", "drawn", "exclusions", "rules"} {
		if !bytes.Contains(proofJSON, []byte(`"`+field+`":`)) {
			t.Errorf("the proof has no %s", field)
		}
	}
	if err := draw.Verify(proof.Proof, bytes.NewReader(pop)); err != nil {
		t.Fatalf("the served proof does not verify: %v", err)
	}

	// The independent implementation, from addresses and from files.
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the independent verifier is not run")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "docs", "verify_draw.py")
	run := func(proof, population string) (string, int) {
		t.Helper()
		out, err := exec.Command(python, script, "--proof", proof, "--population", population).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out)), code
	}
	if out, code := run(proofURL, popURL); out != "MATCH" || code != 0 {
		t.Fatalf("python verifier on the served documents: %d %s", code, out)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	popFile := write("population.tsv", pop)
	if out, code := run(write("proof.json", proofJSON), popFile); out != "MATCH" || code != 0 {
		t.Fatalf("python verifier on files: %d %s", code, out)
	}
	forged := bytes.Replace(proofJSON, []byte(proof.Drawn[0].ObjectKey), []byte(proof.Drawn[1].ObjectKey), 1)
	if out, code := run(write("forged.json", forged), popFile); code != 1 || !strings.HasPrefix(out, "MISMATCH: drawn[0]") {
		t.Fatalf("python verifier on a forged proof: %d %s", code, out)
	}
	otherBeacon := bytes.Replace(proofJSON, []byte("3350.12"), []byte("3350.13"), 1)
	if out, code := run(write("beacon.json", otherBeacon), popFile); code != 1 || !strings.HasPrefix(out, "MISMATCH: seed") {
		t.Fatalf("python verifier with another beacon: %d %s", code, out)
	}
	if out, code := run(write("proof2.json", proofJSON), write("short.tsv", pop[:len(pop)/2])); code != 1 || !strings.HasPrefix(out, "MISMATCH: population") {
		t.Fatalf("python verifier on a cut population: %d %s", code, out)
	}
}
