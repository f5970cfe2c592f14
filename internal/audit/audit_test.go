package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// freshDB gives a test a migrated database of its own: Verify checks the
// whole chain, and tests that tamper with it must not break each other's.
func freshDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(context.Background(), db.DB); err != nil {
		t.Fatal(err)
	}
	return db
}

func appendN(t *testing.T, db *sqlx.DB, n int) []audit.Record {
	t.Helper()
	var out []audit.Record
	for i := 1; i <= n; i++ {
		r, err := audit.Append(context.Background(), db, audit.Entry{
			Actor: "coordinator:zhang", Action: "draw.execute", Entity: "batch",
			EntityID: fmt.Sprintf("2026-B%d", i), Payload: map[string]any{"drawn": i, "seed": "ab12"},
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func verify(t *testing.T, db *sqlx.DB) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs SQL against the append-only log, as someone with the
// table owner's rights in psql could.
func tamper(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	tx := db.MustBegin()
	defer tx.Rollback()
	for _, s := range append([]string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`, `ALTER TABLE audit_head DISABLE TRIGGER audit_head_keep`}, stmts...) {
		if _, err := tx.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, s := range []string{`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`, `ALTER TABLE audit_head ENABLE TRIGGER audit_head_keep`} {
		if _, err := tx.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyChainIsValid(t *testing.T) {
	rep := verify(t, freshDB(t))
	if !rep.OK || rep.Rows != 0 || rep.HeadSeq != 0 || rep.HeadHash != audit.Genesis {
		t.Errorf("report = %+v", rep)
	}
}

// The hash is computed by PostgreSQL when appending and recomputed in Go
// when verifying: payloads that jsonb reorders or normalises must hash the
// same both ways.
func TestAppendAndVerifyAgree(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	payloads := []any{
		nil,
		map[string]any{},
		json.RawMessage(`{"zeta": 1.0, "alpha": 1e2, "mid": [3, 2.50, -0, 1E-3], "big": 123456789012345678901234567890}`),
		[]byte(`{"b":{"y":true,"x":null},"a":"嘉兴市 \"南湖区\"\ttab\\ \u00e9 \u2028"}`),
		struct {
			County string   `json:"county"`
			Keys   []string `json:"keys"`
		}{"330402", []string{"913304020000000001", "ZR-03"}},
	}
	for i, p := range payloads {
		r, err := audit.Append(ctx, db, audit.Entry{Actor: "auditor:li", Action: "test.append", Entity: "thing", EntityID: fmt.Sprint(i), Payload: p})
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if r.Seq != int64(i+1) {
			t.Errorf("payload %d: seq %d", i, r.Seq)
		}
		if h, _ := audit.Hash(r.PrevHash, r); h != r.Hash {
			t.Errorf("payload %d: Go hash %s, PostgreSQL hash %s over %q", i, h, r.Hash, audit.Content(r))
		}
	}
	// The stored rendering is canonical: sorted keys, normalised numbers.
	var got string
	if err := db.Get(&got, `SELECT payload::text FROM audit_log WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if want := `{"big": 123456789012345678901234567890, "mid": [3, 2.50, 0, 0.001], "zeta": 1.0, "alpha": 100}`; got != want {
		t.Errorf("payload rendered %s, want %s", got, want)
	}
	rep := verify(t, db)
	if !rep.OK || rep.Rows != int64(len(payloads)) || rep.HeadSeq != int64(len(payloads)) {
		t.Fatalf("report = %+v", rep)
	}
	var first audit.Record
	if err := db.Get(&first, `SELECT seq, at, actor, action, entity, entity_id, payload, prev_hash, hash FROM audit_log WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if first.PrevHash != audit.Genesis || string(first.Payload) != "{}" {
		t.Errorf("first row = %+v", first)
	}
}

func TestAppendRefusesIncompleteEntries(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	for _, e := range []audit.Entry{
		{Action: "a.b", Entity: "x"},
		{Actor: "system", Entity: "x"},
		{Actor: "system", Action: "a.b"},
		{Actor: "system", Action: "a.b", Entity: "x", Payload: []int{1}},
		{Actor: "system", Action: "a.b", Entity: "x", Payload: json.RawMessage(`"text"`)},
		{Actor: "system", Action: "a.b", Entity: "x", Payload: json.RawMessage(`{broken`)},
	} {
		if _, err := audit.Append(ctx, db, e); err == nil {
			t.Errorf("%+v was appended", e)
		}
	}
}

func TestEditedRowIsNamed(t *testing.T) {
	db := freshDB(t)
	appendN(t, db, 5)
	tamper(t, db, `UPDATE audit_log SET payload = '{"drawn": 99, "seed": "ab12"}' WHERE seq = 3`)
	rep := verify(t, db)
	if rep.OK || rep.Problem.Seq != 3 || rep.Problem.Kind != audit.Edited || rep.Rows != 2 {
		t.Fatalf("report = %+v %+v", rep, rep.Problem)
	}
	if !strings.Contains(rep.String(), "row 3") {
		t.Errorf("report says %q", rep)
	}
}

func TestEditedTimeOrActorIsNamed(t *testing.T) {
	for _, edit := range []string{
		`UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 2`,
		`UPDATE audit_log SET actor = 'admin:someone' WHERE seq = 2`,
		`UPDATE audit_log SET prev_hash = repeat('1', 64) WHERE seq = 2`,
	} {
		db := freshDB(t)
		appendN(t, db, 3)
		tamper(t, db, edit)
		if rep := verify(t, db); rep.OK || rep.Problem.Seq != 2 || rep.Problem.Kind != audit.Edited {
			t.Errorf("%s: report = %+v", edit, rep.Problem)
		}
	}
}

func TestDeletedRowIsNamed(t *testing.T) {
	cases := []struct {
		del  string
		seq  int64
		want string
	}{
		{`DELETE FROM audit_log WHERE seq = 4`, 4, "row 4 is missing"},
		{`DELETE FROM audit_log WHERE seq IN (2, 3)`, 2, "rows 2 to 3 are missing"},
		{`DELETE FROM audit_log WHERE seq = 1`, 1, "row 1 is missing"},
		// The end of the log: only the head tells.
		{`DELETE FROM audit_log WHERE seq = 6`, 6, "row 6 is missing"},
		{`DELETE FROM audit_log WHERE seq >= 5`, 5, "rows 5 to 6 are missing"},
	}
	for _, c := range cases {
		db := freshDB(t)
		appendN(t, db, 6)
		tamper(t, db, c.del)
		rep := verify(t, db)
		if rep.OK || rep.Problem.Seq != c.seq || rep.Problem.Kind != audit.Missing || !strings.Contains(rep.Problem.Detail, c.want) {
			t.Errorf("%s: report = %+v", c.del, rep.Problem)
		}
	}
}

// Someone who edits a row and recomputes its hash breaks the next row's
// link (or, for the last row, the head).
func TestRewrittenRowIsNamed(t *testing.T) {
	rewrite := func(seq int) string {
		return fmt.Sprintf(`UPDATE audit_log SET actor = 'admin:mallory',
			hash = audit_hash(prev_hash, audit_content(seq, at, 'admin:mallory', action, entity, entity_id, payload)) WHERE seq = %d`, seq)
	}
	db := freshDB(t)
	appendN(t, db, 4)
	tamper(t, db, rewrite(2))
	if rep := verify(t, db); rep.OK || rep.Problem.Seq != 2 || rep.Problem.Kind != audit.Rewritten {
		t.Errorf("middle row: report = %+v", rep.Problem)
	}

	db = freshDB(t)
	appendN(t, db, 4)
	tamper(t, db, rewrite(4))
	if rep := verify(t, db); rep.OK || rep.Problem.Seq != 4 || rep.Problem.Kind != audit.HeadBad {
		t.Errorf("last row: report = %+v", rep.Problem)
	}

	db = freshDB(t)
	appendN(t, db, 4)
	tamper(t, db, `UPDATE audit_head SET seq = 3`)
	if rep := verify(t, db); rep.OK || rep.Problem.Kind != audit.HeadBad {
		t.Errorf("head moved back: report = %+v", rep.Problem)
	}
}

func TestLogIsAppendOnly(t *testing.T) {
	db := testenv.DB(t)
	if _, err := audit.Append(context.Background(), db, audit.Entry{Actor: "system", Action: "test.append", Entity: "thing"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`UPDATE audit_log SET actor = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`,
		`DELETE FROM audit_head`, `INSERT INTO audit_head (id, seq, hash) VALUES (false, 0, repeat('0', 64))`,
	} {
		if _, err := db.Exec(s); err == nil || !strings.Contains(err.Error(), "audit_") {
			t.Errorf("%s: error %v", s, err)
		}
	}
}

// Concurrent transactions append, some roll back: the chain neither forks
// nor has gaps.
func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	db := freshDB(t)
	db.SetMaxOpenConns(8)
	ctx := context.Background()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	var mu sync.Mutex
	committed := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tx, err := db.BeginTxx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				for j := 0; j < 1+i%2; j++ {
					if _, err := audit.Append(ctx, tx, audit.Entry{Actor: fmt.Sprintf("worker:%d", w), Action: "test.append", Entity: "thing", EntityID: fmt.Sprint(i)}); err != nil {
						tx.Rollback()
						errs <- err
						return
					}
				}
				if i%5 == 4 {
					tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				committed += 1 + i%2
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep := verify(t, db)
	if !rep.OK || rep.Rows != int64(committed) {
		t.Fatalf("report = %+v %+v, committed %d", rep, rep.Problem, committed)
	}
}

// Under REPEATABLE READ an append that would fork the chain fails with a
// retryable serialization failure instead.
func TestRepeatableReadAppendCannotFork(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.Get(&n, `SELECT count(*) FROM audit_log`); err != nil { // takes the snapshot
		t.Fatal(err)
	}
	appendN(t, db, 1)
	_, err = audit.Append(ctx, tx, audit.Entry{Actor: "system", Action: "test.append", Entity: "thing"})
	if err == nil || !strings.Contains(err.Error(), "serialize") {
		t.Errorf("append on a stale snapshot: %v", err)
	}
	tx.Rollback()
	if rep := verify(t, db); !rep.OK || rep.Rows != 1 {
		t.Errorf("report = %+v", rep)
	}
}

// Library edits reach the chain with the actor of their transaction, and
// not at all when it rolls back: a one-row statement with its before and
// after, a many-row statement (an import) as a digest of its changes.
func TestLibraryEditsAreChained(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	edit := func(commit bool, stmts ...string) {
		t.Helper()
		tx := db.MustBegin()
		defer tx.Rollback()
		tx.MustExec(`SET LOCAL spotcheck.actor = 'county_officer:wang'`)
		tx.MustExec(`SET LOCAL spotcheck.source = 'import:objects.xlsx'`)
		for _, s := range stmts {
			tx.MustExec(s)
		}
		var n int
		if err := tx.Get(&n, `SELECT count(*) FROM audit_log`); err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit(false, `INSERT INTO objects (key, kind, name, region_code) VALUES ('913304029999999990', 'enterprise', '回滚企业', '330402')`)
	edit(true,
		`INSERT INTO objects (key, kind, name, region_code) VALUES ('913304029999999991', 'enterprise', '甲企业', '330402'), ('913304029999999992', 'project', '乙项目', '330411')`,
		`UPDATE objects SET risk_level = 'high', row_version = row_version + 1 WHERE key = '913304029999999991'`)
	recs, err := audit.List(ctx, db, audit.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		got = append(got, fmt.Sprintf("%d %s %s %s %s", r.Seq, r.Actor, r.Action, r.Entity, r.EntityID))
	}
	want := []string{
		"1 county_officer:wang library.create object ",
		"2 county_officer:wang library.update object 913304029999999991",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("chained:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var p struct {
		Source string
		Before map[string]any
		After  map[string]any
	}
	if err := json.Unmarshal(recs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Source != "import:objects.xlsx" || p.Before["risk_level"] != "normal" || p.After["risk_level"] != "high" {
		t.Errorf("payload = %s", recs[0].Payload)
	}
	var many struct {
		Changes int    `json:"changes"`
		SHA256  string `json:"sha256"`
	}
	if err := json.Unmarshal(recs[1].Payload, &many); err != nil || many.Changes != 2 || len(many.SHA256) != 64 {
		t.Errorf("two-row statement payload = %s", recs[1].Payload)
	}
	// The digest covers the library_changes rows: recomputed, it matches.
	var digest string
	if err := db.Get(&digest, `SELECT encode(sha256(convert_to(string_agg(id::text || ':' || entity_key || ':' || action || ':' ||
		md5(coalesce(before::text, '') || '|' || coalesce(after::text, '')), E'\n' ORDER BY id), 'UTF8')), 'hex')
		FROM library_changes WHERE action = 'create' AND entity_key IN ('913304029999999991', '913304029999999992')`); err != nil || digest != many.SHA256 {
		t.Errorf("digest %s, chained %s (%v)", digest, many.SHA256, err)
	}
	if rep := verify(t, db); !rep.OK || rep.Rows != 2 {
		t.Errorf("report = %+v", rep)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		e := audit.Entry{Actor: "coordinator:zhang", Action: "draw.execute", Entity: "batch", EntityID: "B1"}
		if i%2 == 1 {
			e = audit.Entry{Actor: "county_officer:wang", Action: "match.assign", Entity: "batch", EntityID: "B2"}
		}
		if _, err := audit.Append(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(f audit.Filter, limit int) []int64 {
		recs, err := audit.List(ctx, db, f, limit)
		if err != nil {
			t.Fatal(err)
		}
		var s []int64
		for _, r := range recs {
			s = append(s, r.Seq)
		}
		return s
	}
	if got := fmt.Sprint(seqs(audit.Filter{EntityID: "B2"}, 10)); got != "[6 4 2]" {
		t.Errorf("entity_id B2: %s", got)
	}
	if got := fmt.Sprint(seqs(audit.Filter{Action: "draw.execute", Before: 7}, 2)); got != "[5 3]" {
		t.Errorf("draws before 7: %s", got)
	}
	if got := fmt.Sprint(seqs(audit.Filter{Entity: "batch", Actor: "county_officer:wang", Before: 4}, 10)); got != "[2]" {
		t.Errorf("wang before 4: %s", got)
	}
	if got := fmt.Sprint(seqs(audit.Filter{Entity: "task"}, 10)); got != "[]" {
		t.Errorf("no tasks: %s", got)
	}
}
