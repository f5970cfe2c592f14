package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/matching"
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
	case strings.HasPrefix(*source, "http://") || strings.HasPrefix(*source, "https://"):
		if *token == "" {
			return usageError{"reading a proof from the API needs a bearer token (an auditor's): give --token or set SPOTCHECK_TOKEN"}
		}
		data, err = fetchProof(ctx, *source, *token)
	case *source == "-":
		data, err = io.ReadAll(io.LimitReader(os.Stdin, maxProofBytes))
	default:
		data, err = readProofFile(*source)
	}
	if err != nil {
		return err
	}
	var p matching.Proof
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("%s is not a match proof: %v", *source, err)
	}

	err = matching.Verify(p)
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

func readProofFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProofBytes+1))
	if err == nil && len(data) > maxProofBytes {
		err = fmt.Errorf("%s is larger than %d MiB: not a match proof", name, maxProofBytes>>20)
	}
	return data, err
}

// fetchProof GETs a proof from the API; an error answer is reported with
// its problem detail.
func fetchProof(ctx context.Context, url, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--proof %q is not a usable URL: %v", url, err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the proof: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProofBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch the proof from %s: %w", url, err)
	}
	if len(data) > maxProofBytes {
		return nil, fmt.Errorf("the answer of %s is larger than %d MiB: not a match proof", url, maxProofBytes>>20)
	}
	if resp.StatusCode != http.StatusOK {
		var problem struct {
			Detail string `json:"detail"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &problem) == nil && problem.Detail != "" {
			msg = problem.Detail
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, msg)
	}
	return data, nil
}

// describeProof says what a verified proof establishes, in one line.
func describeProof(p matching.Proof) string {
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
	case p.Kind == matching.KindReplacement:
		fmt.Fprintf(&b, "%s replaces %s on object %s (pool of %d)", p.Replacement, p.Replaced, p.Objects[0].ObjectKey, len(p.Inspectors))
	case len(p.Infeasible) > 0:
		fmt.Fprintf(&b, "%d of %d objects cannot be staffed from a pool of %d", len(p.Infeasible), len(p.Objects), len(p.Inspectors))
	default:
		fmt.Fprintf(&b, "%d objects staffed from a pool of %d", len(p.Assignments), len(p.Inspectors))
	}
	fmt.Fprintf(&b, " (match_seed %s, pool_hash %s)", p.MatchSeed, p.PoolHash)
	return b.String()
}
