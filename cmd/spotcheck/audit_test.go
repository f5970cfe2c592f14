package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// The acceptance check: edit one audit row by hand, and
// `spotcheck audit verify` names it.
func TestAuditVerifyNamesAnEditedRow(t *testing.T) {
	dbURL := testenv.NewDatabase(t)
	raw, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := migrations.Up(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, errOut, err := runCLI("token", "create", "--role", "auditor", "--name", fmt.Sprint("审计 ", i), "--database-url", dbURL); err != nil {
			t.Fatalf("%v %s", err, errOut)
		}
	}
	out, _, err := runCLI("audit", "verify", "--database-url", dbURL)
	if err != nil || !strings.HasPrefix(out, "OK: 3 rows") {
		t.Fatalf("intact trail: %v %q", err, out)
	}
	for _, s := range []string{
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`UPDATE audit_log SET payload = jsonb_set(payload, '{role}', '"admin"') WHERE seq = 2`,
		`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`,
	} {
		if _, err := raw.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err = runCLI("audit", "verify", "--database-url", dbURL)
	if err == nil || exitCode(err) != 1 || !strings.HasPrefix(out, "BROKEN at row 2 (edited)") || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("edited trail: %v (exit %d) %q", err, exitCode(err), out)
	}
}

// The runtime role appends to the chain and writes the business tables,
// but cannot change, delete or truncate an audit row, move the head, alter
// or disable a trigger: only a superuser can, and the published heads catch
// that (TestAuditHeadsCatchARewrite).
func TestRuntimeRoleCannotRewriteTheAudit(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.NewMigratedURL(t)
	rt := sqlx.MustOpen("postgres", testenv.RuntimeURL(dbURL))
	defer rt.Close()
	if _, err := audit.Append(ctx, rt, audit.Entry{Actor: "test", Action: "test.append", Entity: "test"}); err != nil {
		t.Fatalf("the runtime role cannot append: %v", err)
	}
	if _, err := audit.PublishHead(ctx, rt, "manual", ""); err != nil {
		t.Fatalf("the runtime role cannot publish the head: %v", err)
	}
	if _, err := rt.ExecContext(ctx, `INSERT INTO departments (code, name) VALUES ('RT1', '运行角色')`); err != nil {
		t.Fatalf("the runtime role cannot write a business table: %v", err)
	}
	for _, s := range []string{
		`UPDATE audit_log SET actor = 'x'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`INSERT INTO audit_log (seq, at, actor, action, entity, prev_hash, hash) VALUES (99, now(), 'a', 'b', 'c', repeat('1', 64), repeat('2', 64))`,
		`UPDATE audit_head SET seq = 0`,
		`DELETE FROM audit_heads`,
		`INSERT INTO audit_heads (seq, hash, reason) VALUES (1, repeat('3', 64), 'manual')`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`ALTER TABLE results DISABLE TRIGGER ALL`,
		`DROP TRIGGER audit_log_append_only ON audit_log`,
		`DROP TRIGGER library_changes_audit_statement ON library_changes`,
		`CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
		`SET session_replication_role = replica`,
	} {
		if _, err := rt.ExecContext(ctx, s); err == nil {
			t.Errorf("the runtime role may %s", s)
		}
	}
}

// The re-chain check: a superuser edits a row and re-hashes the
// chain from it (or deletes the last rows and moves the head back); `audit
// verify` alone still says OK, `audit verify --heads` with the heads
// published before names the first published row that no longer matches.
func TestAuditHeadsCatchARewrite(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, format string
		tamper       []string
		want         string
	}{
		{"re-chain from an edited row", "json", []string{
			`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
			`UPDATE audit_log SET payload = jsonb_set(payload, '{n}', '99') WHERE seq = 3`,
			`DO $$ DECLARE r record; prev text; BEGIN
				SELECT hash INTO prev FROM audit_log WHERE seq = 2;
				FOR r IN SELECT * FROM audit_log WHERE seq >= 3 ORDER BY seq LOOP
					UPDATE audit_log SET prev_hash = prev,
						hash = audit_hash(prev, audit_content(r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.payload))
						WHERE seq = r.seq RETURNING hash INTO prev;
				END LOOP;
				UPDATE audit_head SET hash = prev;
			END $$`,
			`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`,
		}, "BROKEN at row 5 (rewritten)"},
		{"delete the tail and move the head back", "csv", []string{
			`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
			`DELETE FROM audit_log WHERE seq > 6`,
			`UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6)`,
			`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`,
		}, "BROKEN at row 8 (missing)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbURL := testenv.NewMigratedURL(t)
			owner := sqlx.MustOpen("postgres", dbURL)
			defer owner.Close()
			rt := sqlx.MustOpen("postgres", testenv.RuntimeURL(dbURL))
			defer rt.Close()
			appendN := func(from, to int) {
				for i := from; i <= to; i++ {
					if _, err := audit.Append(ctx, rt, audit.Entry{Actor: "test", Action: "test.step", Entity: "test", Payload: map[string]int{"n": i}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Rows 1–5, a daily head; rows 6–8, an archive's head.
			appendN(1, 5)
			if _, err := audit.PublishHead(ctx, rt, "daily", ""); err != nil {
				t.Fatal(err)
			}
			appendN(6, 8)
			if _, err := audit.PublishHead(ctx, rt, "archive", "B1"); err != nil {
				t.Fatal(err)
			}
			heads, err := audit.Heads(ctx, rt)
			if err != nil || len(heads) != 2 {
				t.Fatalf("heads %v, %v", heads, err)
			}
			file := filepath.Join(t.TempDir(), "heads."+c.format)
			var b bytes.Buffer
			if c.format == "csv" {
				b.WriteString("\ufeff")
				w := csv.NewWriter(&b)
				w.Write(audit.HeadsHeader)
				for _, h := range heads {
					w.Write(h.Row())
				}
				w.Flush()
			} else {
				json.NewEncoder(&b).Encode(map[string]any{"items": heads})
			}
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, _, err := runCLI("audit", "verify", "--heads", file, "--database-url", dbURL); err != nil || !strings.Contains(out, "OK: the chain passes through all 2 published heads") {
				t.Fatalf("intact: %v %q", err, out)
			}
			for _, s := range c.tamper {
				if _, err := owner.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			// The chain is consistent in itself: the plain check is fooled.
			if out, _, err := runCLI("audit", "verify", "--database-url", dbURL); err != nil || !strings.HasPrefix(out, "OK:") {
				t.Fatalf("plain verify after the rewrite: %v %q (the rewrite is meant to fool it)", err, out)
			}
			out, _, err := runCLI("audit", "verify", "--heads", file, "--database-url", dbURL)
			if err == nil || exitCode(err) != 1 || !strings.Contains(out, c.want) {
				t.Errorf("verify --heads: %v (exit %d) %q, want %q", err, exitCode(err), out, c.want)
			}
		})
	}
}
