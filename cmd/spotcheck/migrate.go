package main

import (
	"context"
	"io"
	"strings"

	"github.com/spotcheck-gov/spotcheck/migrations"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// The action may come before or after the flags.
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg, fs, err := parseFlags("migrate", args, stderr)
	if err != nil {
		return err
	}
	if action == "" && fs.NArg() == 1 {
		action = fs.Arg(0)
	} else if action == "" || fs.NArg() != 0 {
		return usageError{"usage: spotcheck migrate up|down|status"}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database to migrate"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	switch action {
	case "up":
		return migrations.Up(ctx, db.DB)
	case "down":
		return migrations.Down(ctx, db.DB)
	case "status":
		return migrations.Status(ctx, db.DB, stdout)
	default:
		return usageError{"unknown migrate action " + action + ": want up, down or status"}
	}
}
