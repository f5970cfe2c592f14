package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
)

const demoUsage = `usage: spotcheck demo seed [--if-empty] [flags]

Loads the demo data set of the Jiaxing natural-resources bureau into a
migrated database: departments, the published item list, 20,000 objects
across the nine county-level units, 150 inspectors, declared conflicts and
notification contacts. The data are the same on every machine; records
already there are kept, so a second run adds nothing. --if-empty loads
nothing when the object directory holds any object.
`

// runDemo is `spotcheck demo seed`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spotcheck demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage, "\nFlags:\n"); fs.PrintDefaults() }
	cfg := config.Register(fs)
	ifEmpty := fs.Bool("if-empty", false, "load nothing when the object directory holds any object")
	objects := fs.Int("objects", demo.DefaultObjects, fmt.Sprintf("number of objects (at least %d)", demo.MinObjects))
	inspectors := fs.Int("inspectors", demo.DefaultInspectors, fmt.Sprintf("number of inspectors (at least %d)", demo.MinInspectors))
	pos, err := parseArgs(fs, args, cfg)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "seed" {
		return usageError{strings.SplitN(demoUsage, "\n", 2)[0]}
	}
	opt := demo.Options{Objects: *objects, Inspectors: *inspectors, IfEmpty: *ifEmpty}
	if err := opt.Validate(); err != nil {
		return usageError{strings.TrimPrefix(err.Error(), "demo: ")}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database to load the demo data into"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := demo.Seed(ctx, db, opt)
	if err != nil {
		return unmigrated(err)
	}
	fmt.Fprint(stdout, rep)
	return nil
}

// unmigrated explains a missing table: the schema is not there yet.
func unmigrated(err error) error {
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "42P01" {
		return fmt.Errorf("%w; apply the schema first with `spotcheck migrate up`", err)
	}
	return err
}

// seedDemo loads the demo data into an empty database when `dev` starts,
// so that a newcomer sees a living system; a database with objects is left
// alone.
func seedDemo(ctx context.Context, db *sqlx.DB, log *zap.Logger) error {
	rep, err := demo.Seed(ctx, db, demo.Options{IfEmpty: true})
	if err != nil {
		return fmt.Errorf("load the demo data (DEMO_DATA=false starts without it): %w", err)
	}
	if rep.Skipped {
		log.Debug("demo data not loaded: the object directory is not empty", zap.Int("objects", rep.ObjectsFound))
		return nil
	}
	log.Info("demo data loaded (DEMO_DATA=false starts empty)",
		zap.Int("objects", rep.Objects.Added), zap.Int("inspectors", rep.Inspectors.Added),
		zap.Int("check_items", rep.CheckItems.Added), zap.Int("conflicts", rep.Conflicts.Added),
		zap.Int("contacts", rep.Contacts.Added), zap.Duration("took", rep.Took))
	return nil
}
