package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/config"
)

// runAudit checks the audit trail: `spotcheck audit verify` prints
// "OK: N rows" and exits 0, or names the first edited, missing or
// rewritten row and exits 1.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("spotcheck audit "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if action != "verify" || fs.NArg() != 0 {
		return usageError{"usage: spotcheck audit verify"}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database whose audit trail to verify"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep)
	if !rep.OK {
		return fmt.Errorf("the audit trail is broken at row %d", rep.Problem.Seq)
	}
	return nil
}
