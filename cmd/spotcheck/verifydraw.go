package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// maxDrawProofBytes bounds a draw proof: a batch drawing 100,000 objects
// makes a proof of about 8 MB.
const maxDrawProofBytes = 256 << 20

// runVerifyDraw recomputes a draw (DRAW-SPEC §1) from its public proof and
// population: `spotcheck verify-draw --proof FILE|URL --population
// FILE|URL` prints "MATCH: ..." and exits 0, or "MISMATCH: " and the first
// difference and exits 1. Both documents are public: a URL needs no token.
func runVerifyDraw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spotcheck verify-draw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	proofSource := fs.String("proof", "", "the draw proof: a JSON file, or the URL that serves it\n(GET /public/batches/{id}/draw-proof)")
	popSource := fs.String("population", "", "the population: a TSV file, or the URL that serves it\n(GET /public/batches/{id}/population.tsv)")
	timeout := fs.Duration("timeout", 2*time.Minute, "longest wait for each URL")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if *proofSource == "" || *popSource == "" || fs.NArg() != 0 {
		return usageError{"usage: spotcheck verify-draw --proof FILE|URL --population FILE|URL"}
	}

	proofData, err := readSource(ctx, *proofSource, "", *timeout, maxDrawProofBytes, "a draw proof")
	if err != nil {
		return err
	}
	var proof draw.Proof
	if err := json.Unmarshal(proofData, &proof); err != nil {
		return fmt.Errorf("%s is not a draw proof: %v", *proofSource, err)
	}
	population, closePop, err := openSource(ctx, *popSource, "", *timeout)
	if err != nil {
		return err
	}
	defer closePop()

	err = draw.Verify(proof, population)
	var mm *draw.Mismatch
	switch {
	case err == nil:
		total := 0
		for _, st := range proof.Strata {
			total += st.Population
		}
		fmt.Fprintf(stdout, "MATCH: %s, batch %s: %d objects drawn from a population of %d in %d strata (population_hash %s)\n",
			proof.Algorithm, proof.BatchID, len(proof.Drawn), total, len(proof.Strata), proof.PopulationHash)
		return nil
	case errors.As(err, &mm):
		fmt.Fprintf(stdout, "MISMATCH: %s: %s\n", mm.Field, mm.Detail)
		return errors.New("the draw proof does not verify")
	}
	return fmt.Errorf("read the population %s: %w", *popSource, err)
}
