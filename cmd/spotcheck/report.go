package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
)

const reportUsage = `usage: spotcheck export progress|ledger|statistics [flags]

Writes a report as an Excel workbook (XLSX, Chinese headers), the same as
the API serves:
  progress    --batch ID [--county C]      GET /api/v1/batches/{id}/progress.xlsx
  ledger      [--batch ID] [--county C] [--duty D]   GET /api/v1/accountability.xlsx
  statistics  --year YYYY                  GET /api/v1/statistics.xlsx?year=
`

// reports are the export subjects that are reports, not libraries.
var reports = map[string]bool{"progress": true, "ledger": true, "statistics": true}

// runReport is `spotcheck export progress|ledger|statistics`.
func runReport(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spotcheck export "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reportUsage, "\nFlags:\n"); fs.PrintDefaults() }
	cfg := config.Register(fs)
	var output string
	fs.StringVar(&output, "output", "", "file to write (default: standard output)")
	fs.StringVar(&output, "o", "", "short for --output")
	batchID := fs.String("batch", "", "the batch (progress: required; ledger: only its entries)")
	county := fs.String("county", "", "only this county (code)")
	duty := fs.String("duty", "", "ledger: only this duty (matching, inspection, result_entry, follow_up_entry, publication, judicial_transfer)")
	yearText := fs.String("year", "", "statistics: the year, e.g. 2026")
	pos, err := parseArgs(fs, args, cfg)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{strings.SplitN(reportUsage, "\n", 2)[0]}
	}
	var year int
	switch kind {
	case "progress":
		if *batchID == "" {
			return usageError{"export progress needs --batch ID"}
		}
	case "ledger":
		if _, ok := inspection.DutyNames[*duty]; *duty != "" && !ok {
			return usageError{fmt.Sprintf("--duty %q is not a duty", *duty)}
		}
	case "statistics":
		if year, err = strconv.Atoi(*yearText); err != nil || year < 2000 || year > 2100 {
			return usageError{fmt.Sprintf("export statistics needs --year, a year such as 2026 (got %q)", *yearText)}
		}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database to report from"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := stats.NewService(db)
	write := func(w io.Writer) error {
		switch kind {
		case "progress":
			return svc.WriteProgressXLSX(ctx, w, *batchID, *county)
		case "ledger":
			return svc.WriteLedgerXLSX(ctx, w, stats.LedgerFilter{BatchID: *batchID, County: *county, Duty: *duty})
		default:
			return svc.WriteYearXLSX(ctx, w, year)
		}
	}
	var werr error
	if output == "" || output == "-" {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		if werr = write(bw); werr == nil {
			werr = bw.Flush()
		}
	} else {
		werr = writeFileAtomically(output, write)
	}
	if e, ok := fault.As(werr); ok {
		return fmt.Errorf("export %s: %s", kind, e.Msg)
	}
	return werr
}
