package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// lockedBatch writes a locked batch with two tasks, one result published.
func lockedBatch(t *testing.T, c *Closer, id string) {
	t.Helper()
	stmts := []string{
		`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, population_hash, population_size,
		   population_bytes, strata, frozen_at, beacon, seed, drawn_count, proof, drawn_at, locked_at, created_by)
		 VALUES ($1, 'locked', '{}', 'd', repeat('a', 64), now(), repeat('b', 64), 2, 10, '[]', now(), '', repeat('c', 64), 2,
		   '{"algorithm":"spotcheck-draw-v1"}', now(), now(), 'test')`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, seq) VALUES
		   ($1, 'K1', '330402', 'closed', '{I1,I2}', 9), ($1, 'K2', '330411', 'result_entered', '{I3,I4}', 5)`,
		`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at, review)
		 VALUES ($1, 'K1', 1, 'corrected', 'on_site', true, 'inspector:I1', now(), 'approved')`,
		`INSERT INTO publications (batch_id, object_key, published_at) VALUES ($1, 'K1', now())`,
		`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at) VALUES ($1, 'K2', '330411', 'result_entry', '2026-03-31', now())`,
	}
	for _, s := range stmts {
		if _, err := c.DB.Exec(s, id); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestSummaryThenSeal(t *testing.T) {
	ctx := context.Background()
	c := &Closer{DB: testenv.DB(t), Now: func() time.Time { return time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC) },
		Population: func(_ context.Context, _ string, w *bytes.Buffer) error {
			w.WriteString("K1\titem=ZR-01\nK2\titem=ZR-01\n")
			return nil
		}}
	lockedBatch(t, c, "AR-1")

	if _, err := c.Seal(ctx, "AR-1"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("sealing before the summary: %v, want a conflict", err)
	}
	for i := 0; i < 2; i++ { // the second call changes nothing
		if err := c.PublishSummary(ctx, "AR-1"); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.GetSummary(ctx, "AR-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Counties) != 2 || s.Counties[0].County != "330402" || s.Counties[0].CountyName != "南湖区" || s.Counties[0].ProblemsFound != 1 || s.Counties[0].Published != 1 ||
		s.Counties[1].Overdue != 1 {
		t.Errorf("summary = %+v", s)
	}

	m, err := c.Seal(ctx, "AR-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Seal(ctx, "AR-1")
	if err != nil || again.SealedAt != m.SealedAt || len(again.Files) != len(m.Files) {
		t.Errorf("second seal = %+v, %v", again, err)
	}
	raw, sum, err := c.Sealed(ctx, "AR-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(raw); hex.EncodeToString(got[:]) != sum {
		t.Error("manifest hash does not match its bytes")
	}
	var stored Manifest
	json.Unmarshal(raw, &stored)
	names := []string{}
	for _, f := range stored.Files {
		b, err := c.FileContent(ctx, "AR-1", f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != f.SHA256 || len(b) != f.Bytes {
			t.Errorf("%s does not match its manifest entry", f.Name)
		}
		names = append(names, f.Name)
	}
	for _, want := range []string{"batch.json", "draw-proof.json", "population.tsv", "tasks.csv", "results.csv", "accountability.csv"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("archive lacks %s: %v", want, names)
		}
	}
	tasks, _ := c.FileContent(ctx, "AR-1", "tasks.csv")
	if !strings.Contains(string(tasks), "K1,330402,closed,I1;I2") || !strings.Contains(string(tasks), ",county_name,") || !strings.Contains(string(tasks), ",南湖区,") {
		t.Errorf("tasks.csv (the county's name beside its code) = %s", tasks)
	}
	if _, err := c.DB.Exec(`UPDATE batch_archive_files SET content = 'x' WHERE batch_id = 'AR-1'`); err == nil {
		t.Error("a sealed file was changed")
	}
	var state string
	c.DB.Get(&state, `SELECT state FROM batches WHERE id = 'AR-1'`)
	if state != "archived" {
		t.Errorf("state = %s", state)
	}
	var audited int
	c.DB.Get(&audited, `SELECT count(*) FROM audit_log WHERE entity = 'batch' AND entity_id = 'AR-1'`)
	if audited != 2 {
		t.Errorf("%d audit rows, want summary and archive", audited)
	}
	if _, err := c.GetSummary(ctx, "nope"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("missing summary: %v", err)
	}
}

// sealedFiles seals a batch and returns its manifest, its hash and its files.
func sealedFiles(t *testing.T, c *Closer, id string) ([]byte, string, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	lockedBatch(t, c, id)
	if err := c.PublishSummary(ctx, id); err != nil {
		t.Fatal(err)
	}
	m, err := c.Seal(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, sum, err := c.Sealed(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range m.Files {
		if files[f.Name], err = c.FileContent(ctx, id, f.Name); err != nil {
			t.Fatal(err)
		}
	}
	return raw, sum, files
}

func TestVerifyRecomputesTheManifest(t *testing.T) {
	c := &Closer{DB: testenv.DB(t), Now: func() time.Time { return time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC) }}
	manifest, sum, files := sealedFiles(t, c, "AR-V")
	open := func(files map[string][]byte) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if b, ok := files[name]; ok {
				return b, nil
			}
			return nil, errors.New("no such file")
		}
	}
	got, err := Verify(manifest, sum, open(files))
	if err != nil {
		t.Fatalf("the sealed archive: %v", err)
	}
	if got.BatchID != "AR-V" || got.Files != len(files) || got.ManifestSHA256 != sum || got.DrawVerified {
		t.Errorf("checked = %+v", got)
	}
	if ledger := string(files["accountability.csv"]); !strings.Contains(ledger, ",2026-03-31,") || strings.Contains(ledger, "2026-03-31T") {
		t.Errorf("a DATE column is not written as a date:\n%s", ledger)
	}

	edited := maps.Clone(files)
	edited["results.csv"] = bytes.Replace(files["results.csv"], []byte("corrected"), []byte("no_problem"), 1)
	cases := []struct {
		name     string
		manifest []byte
		sum      string
		files    map[string][]byte
		file     string
	}{
		{"an edited file", manifest, sum, edited, "results.csv"},
		{"another published hash", manifest, strings.Repeat("0", 64), files, ManifestFile},
		{"a reformatted manifest", append(bytes.Clone(manifest), '\n'), "", files, ManifestFile},
		{"not a manifest", []byte("[]"), "", files, ManifestFile},
	}
	for _, tc := range cases {
		_, err := Verify(tc.manifest, tc.sum, open(tc.files))
		var mm *Mismatch
		if !errors.As(err, &mm) || mm.File != tc.file {
			t.Errorf("%s: %v, want a mismatch in %s", tc.name, err, tc.file)
		}
	}
	missing := maps.Clone(files)
	delete(missing, "tasks.csv")
	if _, err := Verify(manifest, sum, open(missing)); err == nil || !strings.Contains(err.Error(), "tasks.csv") {
		t.Errorf("a missing file: %v", err)
	}
}

func TestVerifyRecomputesTheDraw(t *testing.T) {
	// The fixture's proof is no draw of its population: the check must say so.
	c := &Closer{DB: testenv.DB(t), Population: func(_ context.Context, _ string, w *bytes.Buffer) error {
		w.WriteString("K1\titem=ZR-01\nK2\titem=ZR-01\n")
		return nil
	}}
	manifest, sum, files := sealedFiles(t, c, "AR-D")
	_, err := Verify(manifest, sum, func(name string) ([]byte, error) { return files[name], nil })
	var mm *Mismatch
	if !errors.As(err, &mm) || mm.File != "draw-proof.json" || !strings.Contains(mm.Detail, "does not recompute") {
		t.Errorf("a proof that is not the draw: %v", err)
	}
}
