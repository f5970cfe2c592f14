package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// The acceptance check: a match on the demo data verifies with
// `spotcheck verify-match`, from a file and from the API; an altered proof
// does not.
func TestVerifyMatchOnDemoData(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.NewDatabase(t)
	db := sqlx.MustOpen("postgres", dbURL)
	defer db.Close()
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI("demo", "seed", "--objects", "600", "--inspectors", "80", "--database-url", dbURL); err != nil {
		t.Fatalf("demo seed: %v: %s", err, errOut)
	}

	// A batch of two departments' items (测绘资质, 土地复垦), drawn and locked.
	three := 3
	batches := batch.NewService(db)
	req := batch.CreateRequest{ID: "2026-DEMO-001", Name: "演示批次", Actor: "test", Rules: batch.Rules{
		Items:      []batch.ItemRef{{Code: "ZR-03", Version: 1}, {Code: "ZR-01", Version: 1}},
		StrataKeys: []string{"region"},
		Quotas:     []batch.QuotaRule{{Count: &three}},
	}}
	if _, err := batches.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := batches.Freeze(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := batches.Draw(ctx, req.ID, "demo-beacon"); err != nil {
		t.Fatal(err)
	}
	counties, err := batches.Lock(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Every county matches its inspectors; each stored proof verifies.
	var res staffing.MatchResult
	for _, c := range counties {
		if c.CountyCode == "" {
			t.Fatalf("objects without a county: %+v", counties)
		}
		res, err = staffing.NewService(db).MatchCounty(ctx, staffing.MatchInput{BatchID: req.ID, County: c.CountyCode, Beacon: "county-beacon",
			InspectionEnd: workday.Date{Year: 2026, Month: 12, Day: 31}, By: "county_officer:demo"})
		if err != nil {
			t.Fatalf("match county %s: %v", c.CountyCode, err)
		}
		p, err := staffing.NewService(db).FindProof(ctx, staffing.ProofQuery{BatchID: req.ID, County: c.CountyCode})
		if err != nil {
			t.Fatal(err)
		}
		if err := staffing.Verify(p); err != nil || len(p.Assignments) != c.Objects {
			t.Fatalf("county %s: %d assignments for %d objects: %v", c.CountyCode, len(p.Assignments), c.Objects, err)
		}
	}
	county := counties[len(counties)-1].CountyCode
	proof, err := staffing.NewService(db).FindProof(ctx, staffing.ProofQuery{BatchID: req.ID, County: county})
	if err != nil {
		t.Fatal(err)
	}
	if len(proof.Assignments) != len(res.Teams) || len(proof.Assignments) == 0 {
		t.Fatalf("proof of %d assignments, %d teams", len(proof.Assignments), len(res.Teams))
	}
	doc, err := json.Marshal(proof)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "proof.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI("verify-match", "--proof", file)
	if err != nil || !strings.HasPrefix(out, "MATCH: spotcheck-match-v1, batch 2026-DEMO-001, county "+county+", round 1: ") {
		t.Fatalf("verify-match on the stored proof: %v %q", err, out)
	}

	// One team member changed: MISMATCH naming it, exit 1.
	team := proof.Assignments[0].Inspectors
	for _, in := range proof.Inspectors {
		if in.InspectorKey != team[0] && in.InspectorKey != team[1] {
			team[1] = in.InspectorKey
			break
		}
	}
	doc, _ = json.Marshal(proof)
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI("verify-match", "--proof", file)
	if err == nil || exitCode(err) != 1 || !strings.HasPrefix(out, "MISMATCH: assignments[0].inspectors[1]: proof says "+team[1]) {
		t.Errorf("altered proof: %v (exit %d) %q", err, exitCode(err), out)
	}

	// From the API: the proof as served, with the caller's bearer token.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sc_auditor" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"status":401,"detail":"This needs a bearer token."}`))
			return
		}
		p, err := staffing.NewService(db).FindProof(r.Context(), staffing.ProofQuery{BatchID: req.ID, County: county})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(p)
	}))
	defer srv.Close()
	url := srv.URL + "/api/v1/batches/" + req.ID + "/counties/" + county + "/match-proof"
	out, _, err = runCLI("verify-match", "--proof", url, "--token", "sc_auditor")
	if err != nil || !strings.HasPrefix(out, "MATCH: ") {
		t.Errorf("verify-match on the URL: %v %q", err, out)
	}
	t.Setenv("SPOTCHECK_TOKEN", "sc_auditor")
	if out, _, err = runCLI("verify-match", "--proof", url); err != nil || !strings.HasPrefix(out, "MATCH: ") {
		t.Errorf("token from the environment: %v %q", err, out)
	}
	t.Setenv("SPOTCHECK_TOKEN", "")
	if _, _, err = runCLI("verify-match", "--proof", url); exitCode(err) != 2 || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("URL without a token: %v", err)
	}
	if _, _, err = runCLI("verify-match", "--proof", url, "--token", "wrong"); exitCode(err) != 1 || !strings.Contains(err.Error(), "401 Unauthorized: This needs a bearer token.") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestVerifyMatchCommandLine(t *testing.T) {
	pool := []match.Inspector{
		{InspectorKey: "JX-1", Tags: []string{"land"}, MaxLoad: 5},
		{InspectorKey: "JX-2", Tags: []string{"land"}, MaxLoad: 5},
		{InspectorKey: "JX-3", Tags: []string{"land"}, MaxLoad: 5},
	}
	objects := []match.Object{{ObjectKey: "O1", K: 2}, {ObjectKey: "O2", K: 3, RequiredTags: []string{"land"}}}
	p, err := match.NewProof([32]byte{9}, "330402", 1, "", objects, pool)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A bare DRAW-SPEC proof (no kind) verifies too.
	if out, _, err := runCLI("verify-match", "--proof", write("bare.json", p)); err != nil || !strings.HasPrefix(out, "MATCH: spotcheck-match-v1, county 330402, round 1: 2 objects staffed from a pool of 3") {
		t.Errorf("bare proof: %v %q", err, out)
	}
	p.Objects[1].K = 1
	if out, _, err := runCLI("verify-match", "--proof", write("bad.json", p)); exitCode(err) != 1 || !strings.HasPrefix(out, "MISMATCH: objects[1].k: must be at least 2") {
		t.Errorf("invalid input: %v %q", err, out)
	}
	if _, _, err := runCLI("verify-match", "--proof", write("junk.json", []int{1})); exitCode(err) != 1 || !strings.Contains(err.Error(), "is not a match proof") {
		t.Errorf("not a proof: %v", err)
	}
	if _, _, err := runCLI("verify-match", "--proof", filepath.Join(dir, "missing.json")); exitCode(err) != 1 {
		t.Errorf("missing file: %v", err)
	}
	for _, args := range [][]string{{"verify-match"}, {"verify-match", "--proof", "a", "b"}, {"verify-match", "--nope"}} {
		if _, _, err := runCLI(args...); exitCode(err) != 2 {
			t.Errorf("%v: %v", args, err)
		}
	}
}
