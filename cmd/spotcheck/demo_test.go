package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

func migratedDatabase(t *testing.T) (string, *sqlx.DB) {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	db := sqlx.MustOpen("postgres", dbURL)
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(context.Background(), db.DB); err != nil {
		t.Fatal(err)
	}
	return dbURL, db
}

func TestDemoSeedCommand(t *testing.T) {
	dbURL, db := migratedDatabase(t)
	small := []string{"--objects", "500", "--inspectors", "60", "--database-url", dbURL}
	out, errOut, err := runCLI(append([]string{"demo", "seed"}, small...)...)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	for _, want := range []string{"objects      500 added, 0 present", "inspectors   60 added, 0 present", "check items  14 added", "took "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM objects`); err != nil || n != 500 {
		t.Fatalf("%d objects, %v", n, err)
	}
	// Again: nothing added; with --if-empty, nothing even looked at.
	out, _, err = runCLI(append([]string{"demo", "seed"}, small...)...)
	if err != nil || !strings.Contains(out, "objects      0 added, 500 present") {
		t.Errorf("second run: %v\n%s", err, out)
	}
	out, _, err = runCLI(append([]string{"demo", "seed", "--if-empty"}, small...)...)
	if err != nil || !strings.Contains(out, "already holds 500 objects") {
		t.Errorf("--if-empty: %v\n%s", err, out)
	}
}

func TestDemoSeedMistakes(t *testing.T) {
	unmigrated := testenv.NewDatabase(t)
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"demo"}, "usage: spotcheck demo seed", 2},
		{[]string{"demo", "plant"}, "usage: spotcheck demo seed", 2},
		{[]string{"demo", "seed", "--database-url", ""}, "DATABASE_URL is not set", 2},
		{[]string{"demo", "seed", "--inspectors", "9", "--database-url", unmigrated}, "inspectors are too few", 2},
		{[]string{"demo", "seed", "--database-url", unmigrated}, "spotcheck migrate up", 1},
		{[]string{"dev", "--demo-data=maybe"}, "demo-data must be true or false", 2},
	} {
		_, _, err := runCLI(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != c.code {
			t.Errorf("%v: %v (exit %d), want %q, exit %d", c.args, err, exitCode(err), c.want, c.code)
		}
	}
	t.Setenv("DEMO_DATA", "nope")
	if _, _, err := runCLI("dev"); err == nil || !strings.Contains(err.Error(), `DEMO_DATA "nope"`) {
		t.Errorf("DEMO_DATA=nope: %v", err)
	}
}

// What `dev` runs after the migrations: an empty database gets the demo
// data; one with objects is left alone.
func TestDevSeedsAnEmptyDatabaseOnly(t *testing.T) {
	ctx := context.Background()
	_, db := migratedDatabase(t)
	if _, err := db.Exec(`INSERT INTO objects (key, kind, name, region_code) VALUES ('JX-OWN-1', 'project', '自建项目', '330402')`); err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(ctx, db, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM inspectors`); err != nil || n != 0 {
		t.Errorf("a database with objects got %d demo inspectors (%v)", n, err)
	}

	_, empty := migratedDatabase(t)
	if err := seedDemo(ctx, empty, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	if err := empty.Get(&n, `SELECT count(*) FROM objects`); err != nil || n != demo.DefaultObjects {
		t.Errorf("an empty database got %d objects (%v), want %d", n, err, demo.DefaultObjects)
	}
}
