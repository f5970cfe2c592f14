package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/bulk"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

const importUsage = `usage: spotcheck import objects|inspectors FILE [flags]

Imports a CSV (UTF-8 or GB18030) or XLSX file into a library: rows are
upserted by key, and a file with any problem writes nothing. Every problem
is printed as "row N, column X: message"; the exit status is then 1.
`

const exportUsage = `usage: spotcheck export objects|inspectors [flags]
       spotcheck export progress|ledger|statistics [flags]

Writes a library as CSV (UTF-8 with BOM) or XLSX, in the format import
reads, or with --template an XLSX template to fill in; or a report in
Excel (see spotcheck export progress -h).
`

// runImport is `spotcheck import`: the command-line form of
// POST /api/v1/{library}/import. Files of any size are accepted unless
// --max-bytes says otherwise.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spotcheck import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage, "\nFlags:\n"); fs.PrintDefaults() }
	cfg := config.Register(fs)
	dryRun := fs.Bool("dry-run", false, "check the file and count what would change; write nothing")
	encoding := fs.String("encoding", "", "utf-8 or gb18030 for CSV files (detected when absent)")
	format := fs.String("format", "", "csv or xlsx (detected from the content when absent)")
	skip := fs.Bool("skip-invalid", false, "import the good rows of a file whose other rows have problems")
	actor := fs.String("actor", defaultActor(), "who the change history names as having imported")
	maxBytes := fs.Int64("max-bytes", 0, "refuse files larger than this many bytes (0: no limit)")
	pos, err := parseArgs(fs, args, cfg)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{strings.SplitN(importUsage, "\n", 2)[0]}
	}
	lib, err := bulk.LibraryNamed(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	opt := bulk.Options{Name: filepath.Base(pos[1]), DryRun: *dryRun, SkipInvalid: *skip, Actor: *actor, MaxBytes: *maxBytes}
	if opt.Encoding, err = bulk.ParseEncoding(*encoding); err != nil {
		return usageError{"--encoding: " + problemText(err)}
	}
	if opt.Format, err = bulk.ParseFormat(*format); err != nil {
		return usageError{"--format: " + problemText(err)}
	}
	if _, err := os.Stat(pos[1]); err != nil {
		return fmt.Errorf("cannot read %s: %w", pos[1], errors.Unwrap(err))
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database to import into"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()

	printed := 0
	opt.OnProblem = func(p fault.Problem) {
		printed++
		fmt.Fprintln(stderr, p.String())
	}
	res, err := bulk.Import(ctx, db, lib, pos[1], opt)
	if e, ok := fault.As(err); ok {
		if printed == 0 {
			for _, p := range e.Problems {
				fmt.Fprintln(stderr, p.String())
			}
		}
		return fmt.Errorf("%s: %s", pos[1], e.Msg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, summary(pos[1], res))
	return nil
}

func summary(file string, r *bulk.Result) string {
	s := fmt.Sprintf("%s: %d %s rows", file, r.Rows, r.Library)
	if r.DryRun {
		s += fmt.Sprintf(": would create %d, update %d, leave %d unchanged; dry run, nothing written", r.Created, r.Updated, r.Unchanged)
	} else {
		s += fmt.Sprintf(": %d created, %d updated, %d unchanged", r.Created, r.Updated, r.Unchanged)
	}
	if r.Skipped > 0 {
		s += fmt.Sprintf("; %d rows with problems skipped", r.Skipped)
	}
	return s
}

// runExport is `spotcheck export`: the command-line form of
// GET /api/v1/{library}/export and /import-template.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && reports[args[0]] {
		return runReport(ctx, args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("spotcheck export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportUsage, "\nFlags:\n"); fs.PrintDefaults() }
	cfg := config.Register(fs)
	format := fs.String("format", "", "csv or xlsx (default: from the --output name, else csv)")
	var output string
	fs.StringVar(&output, "output", "", "file to write (default: standard output)")
	fs.StringVar(&output, "o", "", "short for --output")
	region := fs.String("region", "", "only this region (code or name)")
	kind := fs.String("kind", "", "only objects of this kind")
	status := fs.String("status", "", "only this status")
	template := fs.Bool("template", false, "write the XLSX import template instead of the library")
	pos, err := parseArgs(fs, args, cfg)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{strings.SplitN(exportUsage, "\n", 2)[0]}
	}
	lib, err := bulk.LibraryNamed(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	f, err := bulk.ParseFormat(*format)
	if err != nil {
		return usageError{"--format: " + problemText(err)}
	}
	if f == "" && strings.EqualFold(filepath.Ext(output), ".xlsx") || *template {
		f = bulk.XLSX
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database to export from"}
	}
	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()

	write := func(w io.Writer) error { return bulk.WriteTemplate(ctx, db, lib, w) }
	if !*template {
		exp, err := bulk.StartExport(ctx, db, lib, f, bulk.Filter{Region: *region, Kind: *kind, Status: *status})
		if err != nil {
			if _, ok := fault.As(err); ok {
				return usageError{problemText(err)}
			}
			return err
		}
		defer exp.Close()
		write = exp.Write
	}
	if output == "" || output == "-" {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	return writeFileAtomically(output, write)
}

// writeFileAtomically writes through a temporary file in the same folder,
// so a failed export never leaves half a file under the name asked for.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// parseArgs parses flags placed before, between or after the positional
// arguments, which it returns, and checks the settings.
func parseArgs(fs *flag.FlagSet, args []string, cfg *config.Config) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err.Error()}
	}
	return pos, nil
}

// problemText is a fault's message without its "invalid field" prefix.
func problemText(err error) string {
	if e, ok := fault.As(err); ok && len(e.Problems) == 1 {
		return e.Problems[0].Message
	}
	return err.Error()
}

// defaultActor names the person at the terminal for the change history.
func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}
