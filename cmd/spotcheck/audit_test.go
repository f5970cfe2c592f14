package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

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
