package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
)

// maxProofBytes bounds a proof read from a file or the API: a county of
// 100,000 objects makes a proof of about 15 MB.
const maxProofBytes = 256 << 20

// runVerifyMatch recomputes a match proof (DRAW-SPEC §2) from its inputs:
// `spotcheck verify-match --proof FILE|URL` prints "MATCH: ..." and exits
// 0, or "MISMATCH: " and the first difference and exits 1. A URL is read
// with a bearer token (--token or SPOTCHECK_TOKEN): proofs are served to
// auditors only.
func runVerifyMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spotcheck verify-match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("proof", "", "the match proof: a JSON file, - for standard input, or the URL that serves it\n(GET /api/v1/batches/{id}/counties/{county}/match-proof)")
	token := fs.String("token", "", "bearer token for a URL (default $SPOTCHECK_TOKEN)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if *source == "" || fs.NArg() != 0 {
		return usageError{"usage: spotcheck verify-match --proof FILE|URL [--token TOKEN]"}
	}
	if *token == "" {
		*token = os.Getenv("SPOTCHECK_TOKEN")
	}

	var data []byte
	var err error
	switch {
	case isSourceURL(*source):
		if *token == "" {
			return usageError{"reading a proof from the API needs a bearer token (an auditor's): give --token or set SPOTCHECK_TOKEN"}
		}
		data, err = readSource(ctx, *source, *token, 2*time.Minute, maxProofBytes, "a match proof")
	case *source == "-":
		data, err = io.ReadAll(io.LimitReader(os.Stdin, maxProofBytes))
	default:
		data, err = readSource(ctx, *source, "", 0, maxProofBytes, "a match proof")
	}
	if err != nil {
		return err
	}
	var p staffing.Proof
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("%s is not a match proof: %v", *source, err)
	}

	err = staffing.Verify(p)
	var mm *match.MismatchError
	var ie *match.InputError
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "MATCH: "+describeProof(p))
		return nil
	case errors.As(err, &mm):
		fmt.Fprintf(stdout, "MISMATCH: %s: proof says %s, recomputed %s\n", mm.Field, mm.Proof, mm.Recomputed)
	case errors.As(err, &ie):
		fmt.Fprintf(stdout, "MISMATCH: %s: %s (the proof's inputs cannot be recomputed)\n", ie.Field, ie.Reason)
	default:
		return err
	}
	return errors.New("the match proof does not verify")
}

// describeProof says what a verified proof establishes, in one line.
func describeProof(p staffing.Proof) string {
	var b strings.Builder
	b.WriteString(p.Algorithm)
	if p.BatchID != "" {
		fmt.Fprintf(&b, ", batch %s", p.BatchID)
	}
	fmt.Fprintf(&b, ", county %s", p.CountyCode)
	if p.DepartmentCode != "" {
		fmt.Fprintf(&b, ", department %s", p.DepartmentCode)
	}
	fmt.Fprintf(&b, ", round %d: ", p.Round)
	switch {
	case p.Kind == staffing.KindReplacement:
		fmt.Fprintf(&b, "%s replaces %s on object %s (pool of %d)", p.Replacement, p.Replaced, p.Objects[0].ObjectKey, len(p.Inspectors))
	case len(p.Infeasible) > 0:
		fmt.Fprintf(&b, "%d of %d objects cannot be staffed from a pool of %d", len(p.Infeasible), len(p.Objects), len(p.Inspectors))
	default:
		fmt.Fprintf(&b, "%d objects staffed from a pool of %d", len(p.Assignments), len(p.Inspectors))
	}
	fmt.Fprintf(&b, " (match_seed %s, pool_hash %s)", p.MatchSeed, p.PoolHash)
	return b.String()
}
