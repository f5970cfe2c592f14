package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Report is the outcome of Verify.
type Report struct {
	OK bool `json:"ok"`
	// Rows is how many rows were checked before the first problem (all of
	// them when OK).
	Rows int64 `json:"rows"`
	// HeadSeq and HeadHash are the chain's last link as audit_head records
	// it; write them down somewhere else (a signed note, a public page) and
	// a later rewrite of the whole chain from that point is noticed too.
	HeadSeq  int64    `json:"head_seq"`
	HeadHash string   `json:"head_hash"`
	Problem  *Problem `json:"problem,omitempty"`
}

// Problem names the first bad row.
type Problem struct {
	Seq int64 `json:"seq"`
	// Kind is edited (the row's content or hash was changed), missing (the
	// row was deleted), rewritten (the row's hash was recomputed after an
	// edit, so the next row no longer links to it) or head (the head
	// disagrees with the last row: it, or the last row, was changed).
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// The kinds of Problem.
const (
	Edited    = "edited"
	Missing   = "missing"
	Rewritten = "rewritten"
	HeadBad   = "head"
)

func (r Report) String() string {
	if r.OK {
		return fmt.Sprintf("OK: %d rows, head %d %s", r.Rows, r.HeadSeq, r.HeadHash)
	}
	return fmt.Sprintf("BROKEN at row %d (%s): %s", r.Problem.Seq, r.Problem.Kind, r.Problem.Detail)
}

// Verify walks the whole chain in one snapshot and reports the first row
// that was edited, deleted or rewritten. An error means the check could not
// run; a broken chain is a Report with OK false.
func Verify(ctx context.Context, db *sqlx.DB) (Report, error) {
	// One snapshot for the head and the rows, so appends made meanwhile do
	// not look like deleted rows.
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return Report{}, fmt.Errorf("verify audit trail: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var rep Report
	if err := tx.QueryRowxContext(ctx, `SELECT seq, hash FROM audit_head`).Scan(&rep.HeadSeq, &rep.HeadHash); err != nil {
		return Report{}, fmt.Errorf("verify audit trail: read the head: %w", err)
	}
	rows, err := tx.QueryxContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return Report{}, fmt.Errorf("verify audit trail: %w", err)
	}
	defer rows.Close()
	fail := func(seq int64, kind, format string, args ...any) (Report, error) {
		rep.Problem = &Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		return rep, nil
	}
	next, prev := int64(1), Genesis
	for rows.Next() {
		var r Record
		if err := rows.StructScan(&r); err != nil {
			return Report{}, fmt.Errorf("verify audit trail: row after %d: %w", next-1, err)
		}
		if r.Seq != next {
			return fail(next, Missing, "%s missing: the log goes from row %d to row %d", span(next, r.Seq-1), next-1, r.Seq)
		}
		h, err := Hash(r.PrevHash, r)
		if err != nil || h != r.Hash {
			return fail(r.Seq, Edited, "row %d (%s %s %s by %s) does not match its hash: its content, prev_hash or hash was changed",
				r.Seq, r.Action, r.Entity, r.EntityID, r.Actor)
		}
		if r.PrevHash != prev {
			return fail(r.Seq-1, Rewritten, "row %d is not the row that row %d was chained to: row %d was changed and its hash recomputed (or row %d was replaced)",
				r.Seq-1, r.Seq, r.Seq-1, r.Seq)
		}
		rep.Rows++
		next, prev = r.Seq+1, r.Hash
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("verify audit trail: %w", err)
	}
	last := next - 1
	switch {
	case rep.HeadSeq > last:
		return fail(next, Missing, "%s missing: the head records row %d but the log ends at row %d", span(next, rep.HeadSeq), rep.HeadSeq, last)
	case rep.HeadSeq < last:
		return fail(rep.HeadSeq+1, HeadBad, "the head records row %d as the last, but the log goes on to row %d: the head was moved back", rep.HeadSeq, last)
	case rep.HeadHash != prev:
		return fail(last, HeadBad, "the head records another hash for row %d: row %d was changed and its hash recomputed, or the head was edited", last, last)
	}
	rep.OK = true
	return rep, nil
}

func span(from, to int64) string {
	if from == to {
		return "row " + strconv.FormatInt(from, 10) + " is"
	}
	return fmt.Sprintf("rows %d to %d are", from, to)
}

// Filter selects rows of the trail; empty fields do not filter.
type Filter struct {
	Entity, EntityID, Action, Actor string
	// Before, when positive, returns only rows with seq < Before (the
	// cursor of the next page).
	Before int64
}

// List returns up to limit rows matching f, newest first.
func List(ctx context.Context, q sqlx.QueryerContext, f Filter, limit int) ([]Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Entity != "" {
		add("entity = $%d", f.Entity)
	}
	if f.EntityID != "" {
		add("entity_id = $%d", f.EntityID)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Before > 0 {
		add("seq < $%d", f.Before)
	}
	query := `SELECT ` + columns + ` FROM audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	query += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	out := []Record{}
	if err := sqlx.SelectContext(ctx, q, &out, query, args...); err != nil {
		return nil, fmt.Errorf("list audit trail: %w", err)
	}
	return out, nil
}
