package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// RowsReport is the outcome of VerifyRows.
type RowsReport struct {
	OK bool `json:"ok"`
	// Checked counts the public rows compared with their audit entries.
	Checked int64 `json:"checked"`
	// Problem names the first public row that no longer matches.
	Problem string `json:"problem,omitempty"`
}

func (r RowsReport) String() string {
	if r.OK {
		return fmt.Sprintf("OK: %d results and publications match their audit entries", r.Checked)
	}
	return "MISMATCH: " + r.Problem
}

// rowChecks compare each public row that carries an audit hash with the
// payload of the entry that wrote it; each query returns the first row
// that differs (a description) and how many rows it compared.
var rowChecks = []struct{ name, mismatch, count string }{
	{"results", `
		SELECT format('results %s/%s revision %s: %s', r.batch_id, r.object_key, r.revision,
		       CASE WHEN a.seq IS NULL THEN 'its audit entry ' || r.audit_hash || ' is not in the chain'
		            ELSE 'differs from audit row ' || a.seq || ' that entered it' END)
		FROM results r LEFT JOIN audit_log a ON a.hash = r.audit_hash
		WHERE r.audit_hash IS NOT NULL AND (a.seq IS NULL OR a.action <> 'result.enter'
		   OR a.entity_id <> r.batch_id || '/' || r.object_key
		   OR (a.payload->>'revision')::int IS DISTINCT FROM r.revision
		   OR a.payload->'result'->>'result_code' IS DISTINCT FROM r.result_code
		   OR a.payload->'result'->>'method' IS DISTINCT FROM r.method
		   OR coalesce(a.payload->'result'->>'notes', '') IS DISTINCT FROM coalesce(r.notes, ''))
		ORDER BY r.batch_id, r.object_key, r.revision LIMIT 1`,
		`SELECT count(*) FROM results WHERE audit_hash IS NOT NULL`},
	{"publications", `
		SELECT format('publication %s/%s: %s', p.batch_id, p.object_key,
		       CASE WHEN a.seq IS NULL THEN 'its audit entry ' || p.audit_hash || ' is not in the chain'
		            ELSE 'differs from audit row ' || a.seq || ' that published it' END)
		FROM publications p LEFT JOIN audit_log a ON a.hash = p.audit_hash
		WHERE p.audit_hash IS NOT NULL AND (a.seq IS NULL OR a.action <> 'result.publish'
		   OR a.entity_id <> p.batch_id || '/' || p.object_key)
		ORDER BY p.batch_id, p.object_key LIMIT 1`,
		`SELECT count(*) FROM publications WHERE audit_hash IS NOT NULL`},
}

// VerifyRows checks that the rows the public sees (results, publications)
// still say what the audit entries that wrote them recorded: an edit of a
// result in place, or a row pointed at another entry, is named.
func VerifyRows(ctx context.Context, db *sqlx.DB) (RowsReport, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return RowsReport{}, fmt.Errorf("begin rows check: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rep := RowsReport{OK: true}
	for _, c := range rowChecks {
		var n int64
		if err := tx.GetContext(ctx, &n, c.count); err != nil {
			return RowsReport{}, fmt.Errorf("count %s: %w", c.name, err)
		}
		rep.Checked += n
		var bad string
		err := tx.GetContext(ctx, &bad, c.mismatch)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return RowsReport{}, fmt.Errorf("compare %s with the audit trail: %w", c.name, err)
		}
		rep.OK, rep.Problem = false, bad
		return rep, nil
	}
	return rep, nil
}
