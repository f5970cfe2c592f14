package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

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
	headsFrom := fs.String("heads", "", "also check the chain against heads published earlier: a file or URL of /public/audit/heads (JSON or CSV)")
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
		return usageError{"usage: spotcheck audit verify [--heads FILE|URL]"}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database whose audit trail to verify"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	var heads []audit.Head
	if *headsFrom != "" {
		b, err := readSource(ctx, *headsFrom, "", time.Minute, 64<<20, "the published heads")
		if err != nil {
			return err
		}
		if heads, err = audit.ParseHeads(b); err != nil {
			return fmt.Errorf("%s: %w", *headsFrom, err)
		}
	}
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep)
	if !rep.OK {
		return fmt.Errorf("the audit trail is broken at row %d", rep.Problem.Seq)
	}
	// A chain re-hashed by someone who can write the tables passes the
	// check above; only heads kept elsewhere, and the public rows compared
	// with their entries, tell.
	if *headsFrom != "" {
		hr, err := audit.VerifyHeads(ctx, db, heads)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, hr)
		if !hr.OK {
			return fmt.Errorf("the audit trail no longer matches its published heads at row %d", hr.Problem.Seq)
		}
	}
	rr, err := audit.VerifyRows(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rr)
	if !rr.OK {
		return fmt.Errorf("a public row no longer matches the audit trail: %s", rr.Problem)
	}
	return nil
}
