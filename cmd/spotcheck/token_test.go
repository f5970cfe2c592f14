package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestTokenCreateListRevoke(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	out, errOut, err := runCLI("token", "create", "--role", "county_officer", "--county", "南湖区", "--expires", "90d",
		"--name", "南湖区局 王科长", "--database-url", dbURL)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "sc_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout should be the token alone: %q", out)
	}
	if !strings.Contains(errOut, "county 330402") || !strings.Contains(errOut, "shown only this once") {
		t.Errorf("stderr: %s", errOut)
	}
	db := sqlx.MustOpen("postgres", dbURL)
	defer db.Close()
	p, err := auth.NewAuthenticator(db, nil).Authenticate(context.Background(), token)
	if err != nil || p.Role != auth.CountyOfficer || p.County != "330402" {
		t.Fatalf("the printed token does not authenticate: %+v %v", p, err)
	}
	id := strings.TrimPrefix(p.Subject, "key-")

	out, _, err = runCLI("token", "list", "--database-url", dbURL)
	line := lineStarting(out, id+" ")
	if err != nil || !strings.Contains(line, "county 330402") || !strings.Contains(line, "active") || !strings.Contains(line, token[:9]) || !strings.Contains(line, "王科长") {
		t.Errorf("list: %v\n%s", err, out)
	}
	// The ID may come after the flags too.
	out, _, err = runCLI("token", "revoke", "--database-url", dbURL, id)
	if err != nil || !strings.Contains(out, "Revoked API key "+id) {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err := auth.NewAuthenticator(db, nil).Authenticate(context.Background(), token); err == nil {
		t.Error("revoked token still authenticates")
	}
	out, _, _ = runCLI("token", "list", "--database-url", dbURL)
	if line := lineStarting(out, id+" "); !strings.Contains(line, "revoked") {
		t.Errorf("list after revoke: %s", line)
	}
	_, _, err = runCLI("token", "revoke", id, "--database-url", dbURL)
	if err == nil || !strings.Contains(err.Error(), "already revoked") || exitCode(err) != 1 {
		t.Errorf("second revoke: %v", err)
	}
	var actions string
	if err := db.Get(&actions, `SELECT string_agg(action || ' by ' || actor, ', ' ORDER BY seq) FROM audit_log WHERE entity = 'api_key' AND entity_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(actions, "token.create by cli:") || !strings.Contains(actions, ", token.revoke by cli:") {
		t.Errorf("audit trail: %s", actions)
	}
}

func lineStarting(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func TestTokenMistakes(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	cases := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"token"}, "usage: spotcheck token", 2},
		{[]string{"token", "mint"}, "usage: spotcheck token", 2},
		{[]string{"token", "create"}, "--role is required", 2},
		{[]string{"token", "create", "--role", "root"}, `--role: "root" is not a role`, 2},
		{[]string{"token", "create", "--role", "admin", "--county", "330402"}, "--county: applies only to role county_officer", 2},
		{[]string{"token", "create", "--role", "county_officer"}, "--county: role county_officer needs a county", 2},
		{[]string{"token", "create", "--role", "county_officer", "--county", "火星区"}, `--county: "火星区" is neither`, 2},
		{[]string{"token", "create", "--role", "county_officer", "--county", "嘉兴市"}, "is the city, not a county", 2},
		{[]string{"token", "create", "--role", "inspector", "--inspector", "NOBODY"}, "--inspector: \"NOBODY\" is not the key", 2},
		{[]string{"token", "create", "--role", "admin", "--expires", "soon"}, "--expires: \"soon\" is neither", 2},
		{[]string{"token", "create", "--role", "admin", "extra"}, "usage: spotcheck token", 2},
		{[]string{"token", "revoke"}, "usage: spotcheck token", 2},
		{[]string{"token", "revoke", "seven"}, `"seven" is not an API key ID`, 2},
		{[]string{"token", "revoke", "987654321"}, "there is no API key 987654321", 1},
		{[]string{"audit"}, "usage: spotcheck audit verify", 2},
		{[]string{"audit", "verify", "now"}, "usage: spotcheck audit verify", 2},
	}
	for _, c := range cases {
		_, _, err := runCLI(append(c.args, "--database-url", dbURL)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
			t.Errorf("%v: error %v (exit %d), want exit %d saying %q", c.args, err, exitCode(err), c.code, c.want)
		}
	}
	if _, _, err := runCLI("token", "list", "--database-url", ""); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("no database: %v", err)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90d":        now.AddDate(0, 0, 90),
		"36h":        now.Add(36 * time.Hour),
		"2026-12-31": time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), // end of that day in China
	} {
		if got, err := parseExpiry(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"0d", "-1h", "d", "4000d", "2026-13-01", "tomorrow"} {
		if _, err := parseExpiry(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
