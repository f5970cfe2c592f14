package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// DefaultMaxProblems is how many problems a result lists; all are counted.
const DefaultMaxProblems = 1000

// Options control an import.
type Options struct {
	// Name is the file's original name, for messages; optional.
	Name string
	// Format is detected from the content when empty.
	Format Format
	// Encoding of a CSV file; detected when empty (UTF-8, else GB18030).
	Encoding Encoding
	// DryRun checks the file and counts what would change, writing nothing.
	DryRun bool
	// SkipInvalid imports the good rows of a file whose other rows have
	// problems. By default a file with any problem writes nothing. Problems
	// of the header always stop the import.
	SkipInvalid bool
	// Actor is recorded in the change history as who imported.
	Actor string
	// MaxBytes refuses larger files; 0 means no limit.
	MaxBytes int64
	// MaxProblems bounds the problems kept in the result and the error;
	// 0 means DefaultMaxProblems. Every problem is counted.
	MaxProblems int
	// OnProblem, when set, sees every problem as it is found, beyond
	// MaxProblems too.
	OnProblem func(fault.Problem)
}

// Result reports an import. Created, Updated and Unchanged count the good
// rows; in a dry run, or when the file has problems, they say what would
// have happened.
type Result struct {
	Library      string          `json:"library"`
	Format       Format          `json:"format"`
	Encoding     Encoding        `json:"encoding,omitempty"`
	DryRun       bool            `json:"dry_run"`
	Written      bool            `json:"written"`
	Rows         int             `json:"rows"`
	Created      int             `json:"created"`
	Updated      int             `json:"updated"`
	Unchanged    int             `json:"unchanged"`
	Skipped      int             `json:"skipped"`
	ProblemCount int             `json:"problem_count"`
	Problems     []fault.Problem `json:"problems,omitempty"`
}

// Import reads the file at path into library l: every row is checked,
// rows are upserted by key, and rows equal to what is stored are left
// alone so that the change history records real changes only. It all
// happens in one transaction whose changes are recorded with opt.Actor and
// source "import".
//
// A file with problems yields a *fault.Error (kind Invalid, or TooLarge)
// listing them with their rows and columns, its Details a *Result with the
// counts (without the problems), and nothing is written unless
// opt.SkipInvalid allows the good rows in.
func Import(ctx context.Context, db *sqlx.DB, l *Library, path string, opt Options) (*Result, error) {
	if opt.MaxProblems <= 0 {
		opt.MaxProblems = DefaultMaxProblems
	}
	if opt.Actor == "" {
		opt.Actor = "system"
	}
	if opt.MaxBytes > 0 {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("open import file: %w", err)
		}
		if fi.Size() > opt.MaxBytes {
			return nil, fault.New(fault.TooLarge, "the file is %s, larger than the limit of %s", byteSize(fi.Size()), byteSize(opt.MaxBytes))
		}
	}
	src, err := openSource(path, opt.Format, opt.Encoding)
	if err != nil {
		return nil, err
	}
	defer src.close()

	im := &importer{lib: l, opt: opt, src: src,
		res: &Result{Library: l.Name, Format: src.format, Encoding: src.encoding, DryRun: opt.DryRun}}
	return im.run(ctx, db)
}

type importer struct {
	lib *Library
	opt Options
	src *source
	res *Result
	// headerOK is false when the header has problems: rows are still
	// checked, but nothing can be written.
	headerOK bool
}

func (im *importer) problem(p fault.Problem) {
	im.res.ProblemCount++
	if len(im.res.Problems) < im.opt.MaxProblems {
		im.res.Problems = append(im.res.Problems, p)
	}
	if im.opt.OnProblem != nil {
		im.opt.OnProblem(p)
	}
}

// failed answers a file with problems.
func (im *importer) failed() error {
	res := im.res
	msg := fmt.Sprintf("the file has %d problem(s)", res.ProblemCount)
	if res.ProblemCount > len(res.Problems) {
		msg += fmt.Sprintf(" (the first %d are listed)", len(res.Problems))
	}
	msg += "; nothing was imported"
	// The problems are the error's own; the details carry the counts.
	details := *res
	details.Problems = nil
	return &fault.Error{Kind: fault.Invalid, Msg: msg, Problems: res.Problems, Details: &details}
}

func (im *importer) run(ctx context.Context, db *sqlx.DB) (*Result, error) {
	lo, err := im.readHeader()
	if err != nil {
		return nil, err
	}
	if lo == nil {
		return nil, im.failed()
	}

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// work_mem lets the key-ordered upsert sort a large file in memory.
	if _, err := tx.ExecContext(ctx, `SELECT set_config('spotcheck.actor', $1, true), set_config('spotcheck.source', 'import', true), set_config('work_mem', '64MB', true)`, im.opt.Actor); err != nil {
		return nil, fmt.Errorf("import: set actor: %w", err)
	}
	regions, err := loadRegions(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := im.stage(ctx, tx, lo, regions); err != nil {
		return nil, err
	}

	res := im.res
	good := res.Rows - res.Skipped
	writable := im.headerOK && (res.ProblemCount == 0 || im.opt.SkipInvalid)
	if !writable || im.opt.DryRun {
		if im.headerOK {
			if res.Created, res.Updated, err = wouldChange(ctx, tx, im.lib, lo); err != nil {
				return nil, err
			}
			res.Unchanged = good - res.Created - res.Updated
		}
		if !writable {
			return nil, im.failed()
		}
		return res, nil
	}
	if res.Created, res.Updated, err = upsert(ctx, tx, im.lib, lo); err != nil {
		return nil, err
	}
	res.Unchanged = good - res.Created - res.Updated
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit import: %w", err)
	}
	res.Written = true
	return res, nil
}

// readHeader finds the header, the first row with text. A nil layout means
// the rows cannot be read at all (the problems are recorded).
func (im *importer) readHeader() (*layout, error) {
	for {
		row, cells, err := im.src.next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			im.problem(fault.Problem{Row: 1, Message: "the file has no header row: the first row must name the columns, e.g. " + im.lib.columns[0].header + ", " + im.lib.columns[1].header})
			return nil, nil
		case errors.As(err, &re):
			im.problem(fault.Problem{Row: re.row, Message: re.msg})
			return nil, nil
		case err != nil:
			return nil, err
		}
		empty := true
		for _, c := range cells {
			if strings.TrimSpace(c) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		for i, c := range cells {
			if im.src.badText(c) {
				im.problem(fault.Problem{Row: row, Column: columnLetter(i), Message: "the header " + im.src.badTextMsg})
				return nil, nil
			}
		}
		lo, problems := newLayout(im.lib, row, cells)
		for _, p := range problems {
			if im.src.headerHint != "" {
				p.Message += "; " + im.src.headerHint
			}
			im.problem(p)
		}
		im.headerOK = len(problems) == 0
		if len(lo.staged) == 0 {
			// Not one column is known: there is nothing to read the rows into.
			im.problem(fault.Problem{Row: row, Message: "the header names none of the columns of " + im.lib.Name + ": " + im.lib.columnList()})
			return nil, nil
		}
		return lo, nil
	}
}

// stage checks every row and copies the good ones into the temporary table
// bulk_rows, all in one pass over the file.
func (im *importer) stage(ctx context.Context, tx *sqlx.Tx, lo *layout, regions *Regions) error {
	cols := make([]string, len(lo.staged))
	defs := make([]string, len(lo.staged))
	for i, c := range lo.staged {
		col := im.lib.columns[c]
		cols[i] = pq.QuoteIdentifier(col.db())
		defs[i] = cols[i] + " " + col.sqlType
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE bulk_rows (`+strings.Join(defs, ", ")+`) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("import: create staging table: %w", err)
	}
	copyIn, err := tx.PrepareContext(ctx, `COPY bulk_rows (`+strings.Join(cols, ", ")+`) FROM STDIN`)
	if err != nil {
		return fmt.Errorf("import: start copy: %w", err)
	}
	defer copyIn.Close()

	p := newParser(lo, regions, im.src)
	seen := map[string]int32{} // key -> row of its first occurrence
	args := make([]any, len(lo.staged))
	res := im.res
	for n := 0; ; n++ {
		if n%8192 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, cells, err := im.src.next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			if _, err := copyIn.ExecContext(ctx); err != nil {
				return fmt.Errorf("import: finish copy: %w", err)
			}
			return nil
		case errors.As(err, &re):
			res.Rows++
			res.Skipped++
			im.problem(fault.Problem{Row: re.row, Message: re.msg})
			continue
		case err != nil:
			e, ok := fault.As(err)
			if !ok {
				return err
			}
			// A damaged workbook: report it with the rest.
			for _, p := range e.Problems {
				im.problem(p)
			}
			im.headerOK = false
			return nil
		}
		vals, key, empty, problems := p.parse(row, cells)
		if empty {
			continue
		}
		res.Rows++
		if key != "" {
			if first, dup := seen[key]; dup {
				dupe := fault.Problem{Row: row, Column: lo.ref(lo.fileOf[keyCol]),
					Message: fmt.Sprintf("duplicate key %s: first in row %d", quote(key), first)}
				problems = append([]fault.Problem{dupe}, problems...)
			} else {
				// The record's text backs key; keep only the key itself.
				seen[strings.Clone(key)] = int32(row)
			}
		}
		if len(problems) > 0 {
			res.Skipped++
			for _, pr := range problems {
				im.problem(pr)
			}
			continue
		}
		if !im.headerOK {
			// Nothing can be written; keep checking without copying.
			continue
		}
		for i, c := range lo.staged {
			args[i] = vals[c]
		}
		if _, err := copyIn.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("import: copy row %d: %w", row, err)
		}
	}
}

// loadRegions reads the regions table for the region column.
func loadRegions(ctx context.Context, q sqlx.QueryerContext) (*Regions, error) {
	var rows []struct{ Code, Name string }
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT code, name FROM regions ORDER BY code`); err != nil {
		return nil, fmt.Errorf("load regions: %w", err)
	}
	codes, names := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		codes[i], names[i] = r.Code, r.Name
	}
	return NewRegions(codes, names), nil
}

// stagedColumns returns the quoted library columns of the staging table
// and those other than the key.
func stagedColumns(l *Library, lo *layout) (all, nonKey []string) {
	for _, c := range lo.staged {
		name := pq.QuoteIdentifier(l.columns[c].db())
		all = append(all, name)
		if l.columns[c].typ != typeKey {
			nonKey = append(nonKey, name)
		}
	}
	return all, nonKey
}

func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

// upsert writes the staged rows: new keys are inserted, and existing rows
// are updated only where a staged column differs, so unchanged rows make
// no history. Columns absent from the file keep their stored values. Rows
// go in key order, so the key index is filled page by page rather than at
// random: a third faster for a million rows.
func upsert(ctx context.Context, tx *sqlx.Tx, l *Library, lo *layout) (created, updated int, err error) {
	all, nonKey := stagedColumns(l, lo)
	set := make([]string, len(nonKey))
	for i, c := range nonKey {
		set[i] = c + " = EXCLUDED." + c
	}
	table := pq.QuoteIdentifier(l.Name)
	q := `WITH up AS (
	INSERT INTO ` + table + ` AS t (` + strings.Join(all, ", ") + `)
	SELECT ` + strings.Join(all, ", ") + ` FROM bulk_rows ORDER BY key
	ON CONFLICT (key) DO UPDATE SET ` + strings.Join(set, ", ") + `, row_version = t.row_version + 1, updated_at = now()
	WHERE ROW(` + prefixed("t.", nonKey) + `) IS DISTINCT FROM ROW(` + prefixed("EXCLUDED.", nonKey) + `)
	RETURNING (xmax = 0) AS created)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM up`
	if err := tx.QueryRowContext(ctx, q).Scan(&created, &updated); err != nil {
		return 0, 0, fmt.Errorf("import: upsert %s: %w", l.Name, err)
	}
	return created, updated, nil
}

// wouldChange counts what upsert would do, without doing it.
func wouldChange(ctx context.Context, tx *sqlx.Tx, l *Library, lo *layout) (created, updated int, err error) {
	_, nonKey := stagedColumns(l, lo)
	q := `SELECT count(*) FILTER (WHERE t.id IS NULL),
	count(*) FILTER (WHERE t.id IS NOT NULL AND ROW(` + prefixed("t.", nonKey) + `) IS DISTINCT FROM ROW(` + prefixed("b.", nonKey) + `))
FROM bulk_rows b LEFT JOIN ` + pq.QuoteIdentifier(l.Name) + ` t ON t.key = b.key`
	if err := tx.QueryRowContext(ctx, q).Scan(&created, &updated); err != nil {
		return 0, 0, fmt.Errorf("import: count changes to %s: %w", l.Name, err)
	}
	return created, updated, nil
}

// byteSize writes a size for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
