package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestUserCreateList(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	name := strings.ToLower(testenv.UniqueID("zhang"))
	withStdin := func(in string, args ...string) (string, string, error) {
		stdin = strings.NewReader(in)
		defer func() { stdin = os.Stdin }()
		return runCLI(args...)
	}
	// Never a password on the command line, never a weak one.
	if _, _, err := withStdin("", "user", "create", "--username", name, "--role", "coordinator", "--database-url", dbURL); err == nil ||
		!strings.Contains(err.Error(), "--password-stdin is required") {
		t.Errorf("without --password-stdin: %v", err)
	}
	if _, _, err := withStdin("short\n", "user", "create", "--username", name, "--role", "coordinator", "--password-stdin", "--database-url", dbURL); err == nil ||
		!strings.Contains(err.Error(), "--password: must be at least 12 characters") {
		t.Errorf("weak password: %v", err)
	}
	out, errOut, err := withStdin("Jiaxing-city-2026\n", "user", "create", "--username", name, "--display-name", "张统筹", "--role", "coordinator",
		"--password-stdin", "--database-url", dbURL)
	if err != nil || !strings.Contains(out, "Created user "+name) {
		t.Fatalf("create: %v %s %s", err, out, errOut)
	}
	db := sqlx.MustOpen("postgres", dbURL)
	defer db.Close()
	sess, _, err := auth.NewSessions(db, auth.DefaultSessionPolicy).SignIn(context.Background(), name, "Jiaxing-city-2026", auth.Client{})
	if err != nil || sess.User.Role != auth.Coordinator {
		t.Fatalf("the new account cannot sign in: %v", err)
	}
	out, _, err = runCLI("user", "list", "--database-url", dbURL)
	if line := lineStarting(out, ""); err != nil || !strings.Contains(out, name) || !strings.Contains(out, "张统筹") || line == "" {
		t.Errorf("list: %v\n%s", err, out)
	}
}
