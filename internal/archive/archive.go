// Package archive closes a batch: it publishes the batch's summary
// (结果公示) and seals its record (数据存档) — every row and proof of the
// batch exported as files with a manifest of SHA-256 hashes, stored once
// and never changed.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
)

// Closer publishes summaries and seals archives.
type Closer struct {
	DB *sqlx.DB
	// Population writes the canonical population TSV into the archive.
	Population func(ctx context.Context, batchID string, w *bytes.Buffer) error
	Now        func() time.Time
}

// CountySummary is one county's figures in a batch summary.
type CountySummary struct {
	County          string `json:"county" db:"county_code"`
	CountyName      string `json:"county_name" db:"county_name"`
	Drawn           int    `json:"drawn" db:"drawn"`
	Inspected       int    `json:"inspected" db:"inspected"`
	ProblemsFound   int    `json:"problems_found" db:"problems_found"`
	Published       int    `json:"published" db:"published"`
	FollowUpsClosed int    `json:"follow_ups_closed" db:"follow_ups_closed"`
	Overdue         int    `json:"overdue_duties" db:"overdue_duties"`
}

// Summary is what the public reads about a finished batch.
type Summary struct {
	BatchID     string          `json:"batch_id"`
	Counties    []CountySummary `json:"counties"`
	PublishedAt time.Time       `json:"published_at"`
}

func (c *Closer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// PublishSummary computes and publishes the batch summary once; the batch
// moves to "published".
func (c *Closer) PublishSummary(ctx context.Context, batchID string) error {
	return pgtx.Run(ctx, c.DB, nil, func(tx *sqlx.Tx) error {
		var state string
		if err := tx.GetContext(ctx, &state, `SELECT state FROM batches WHERE id = $1 FOR UPDATE`, batchID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fault.New(fault.NotFound, "batch %s does not exist", batchID)
			}
			return fmt.Errorf("lock batch %s: %w", batchID, err)
		}
		switch state {
		case "published", "archived":
			return nil
		case "locked", "in_progress":
		default:
			return fault.New(fault.Conflict, "batch %s is %s; only a locked batch is summarised", batchID, state)
		}
		var counties []CountySummary
		err := tx.SelectContext(ctx, &counties, `
			SELECT t.county_code, coalesce((SELECT name FROM regions WHERE code = t.county_code), '') AS county_name,
			       count(*) AS drawn,
			       count(*) FILTER (WHERE t.inspected_on IS NOT NULL) AS inspected,
			       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM results r WHERE r.batch_id = t.batch_id AND r.object_key = t.object_key
			                                      AND r.review = 'approved' AND r.problems_found)) AS problems_found,
			       count(p.object_key) AS published,
			       count(*) FILTER (WHERE f.entered_at IS NOT NULL) AS follow_ups_closed,
			       (SELECT count(*) FROM accountability a WHERE a.batch_id = t.batch_id AND a.county_code = t.county_code) AS overdue_duties
			FROM tasks t
			LEFT JOIN publications p ON p.batch_id = t.batch_id AND p.object_key = t.object_key
			LEFT JOIN follow_ups f ON f.batch_id = t.batch_id AND f.object_key = t.object_key
			WHERE t.batch_id = $1
			GROUP BY t.batch_id, t.county_code
			ORDER BY t.county_code`, batchID)
		if err != nil {
			return fmt.Errorf("summarise batch %s: %w", batchID, err)
		}
		s := Summary{BatchID: batchID, Counties: counties, PublishedAt: c.now().UTC()}
		b, _ := json.Marshal(s)
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_summaries (batch_id, summary, published_at) VALUES ($1, $2, $3)`,
			batchID, b, s.PublishedAt); err != nil {
			return fmt.Errorf("store summary of %s: %w", batchID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'published', updated_at = now(), row_version = row_version + 1 WHERE id = $1`, batchID); err != nil {
			return fmt.Errorf("mark %s published: %w", batchID, err)
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: "workflow:batch/" + batchID, Action: "batch.publish_summary",
			Entity: "batch", EntityID: batchID, Payload: s})
		return err
	})
}

// GetSummary returns a published summary.
func (c *Closer) GetSummary(ctx context.Context, batchID string) (Summary, error) {
	var raw []byte
	err := c.DB.GetContext(ctx, &raw, `SELECT summary FROM batch_summaries WHERE batch_id = $1`, batchID)
	if errors.Is(err, sql.ErrNoRows) {
		return Summary{}, fault.New(fault.NotFound, "batch %s has no published summary yet", batchID)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("read summary of %s: %w", batchID, err)
	}
	var s Summary
	return s, json.Unmarshal(raw, &s)
}

// File is one file of an archive.
type File struct {
	Name   string `json:"name"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Manifest lists the files of a sealed archive with their hashes.
type Manifest struct {
	BatchID  string    `json:"batch_id"`
	SealedAt time.Time `json:"sealed_at"`
	Files    []File    `json:"files"`
	// AuditHead is the head of the audit chain when the batch was sealed,
	// published at /public/audit/heads in the same transaction: the archive
	// and the public list vouch for each other.
	AuditHead *ChainHead `json:"audit_head,omitempty"`
}

// ChainHead is a row of the audit chain by number and hash.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// exports are the batch's rows, one CSV file per table, in a fixed order.
var exports = []struct{ name, query string }{
	{"drawn.csv", `SELECT position, object_key, stratum, array_to_string(item_codes, ';') AS item_codes, region_code, county_code,
	               (SELECT name FROM regions WHERE code = region_code) AS region_name,
	               (SELECT name FROM regions WHERE code = county_code) AS county_name
	               FROM batch_objects WHERE batch_id = $1 ORDER BY position`},
	{"tasks.csv", `SELECT object_key, county_code, stage, array_to_string(inspectors, ';') AS inspectors, inspection_due,
	               inspected_on, result_due, follow_up_due, publication_due, array_to_string(overdue, ';') AS overdue,
	               (SELECT name FROM regions WHERE code = county_code) AS county_name, follow_up_completion_due
	               FROM tasks WHERE batch_id = $1 ORDER BY object_key`},
	{"results.csv", `SELECT object_key, revision, result_code, method, notes, problems_found, suspected_crime, entered_by, entered_at,
	                 review, review_comment, reviewed_by, reviewed_at, follow_up_action FROM results WHERE batch_id = $1 ORDER BY object_key, revision`},
	{"follow_ups.csv", `SELECT object_key, completed_on, array_to_string(actions, ';') AS actions, notes, entered_by, entered_at
	                    FROM follow_ups WHERE batch_id = $1 ORDER BY object_key`},
	{"judicial_transfers.csv", `SELECT object_key, organ, transferred_on, document_no, entered_by, entered_at
	                            FROM judicial_transfers WHERE batch_id = $1 ORDER BY object_key`},
	{"publications.csv", `SELECT object_key, published_at FROM publications WHERE batch_id = $1 ORDER BY object_key`},
	{"deadline_extensions.csv", `SELECT object_key, duty, old_due, new_due, reason, extended_by, extended_at
	                             FROM deadline_extensions WHERE batch_id = $1 ORDER BY object_key, duty, new_due`},
	{"accountability.csv", `SELECT object_key, county_code, duty, due, detected_at, resolved_on, working_days_late,
	                        (SELECT name FROM regions WHERE code = county_code) AS county_name
	                        FROM accountability WHERE batch_id = $1 ORDER BY county_code, object_key, duty, due`},
}

// Seal exports the batch's rows and proofs, hashes every file, stores them
// with the manifest, and marks the batch archived. Sealing twice returns
// the first seal.
func (c *Closer) Seal(ctx context.Context, batchID string) (Manifest, error) {
	var m Manifest
	err := pgtx.Run(ctx, c.DB, nil, func(tx *sqlx.Tx) error {
		var state string
		if err := tx.GetContext(ctx, &state, `SELECT state FROM batches WHERE id = $1 FOR UPDATE`, batchID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fault.New(fault.NotFound, "batch %s does not exist", batchID)
			}
			return fmt.Errorf("lock batch %s: %w", batchID, err)
		}
		if state == "archived" {
			var raw string
			if err := tx.GetContext(ctx, &raw, `SELECT manifest FROM batch_archives WHERE batch_id = $1`, batchID); err != nil {
				return fmt.Errorf("read seal of %s: %w", batchID, err)
			}
			return json.Unmarshal([]byte(raw), &m)
		}
		if state != "published" {
			return fault.New(fault.Conflict, "batch %s is %s; its summary must be published before it is archived", batchID, state)
		}
		files := map[string][]byte{}
		var order []string
		add := func(name string, b []byte) { files[name] = b; order = append(order, name) }

		var batchJSON, proof []byte
		if err := tx.GetContext(ctx, &batchJSON, `SELECT to_jsonb(b) - 'request_digest' FROM batches b WHERE id = $1`, batchID); err != nil {
			return fmt.Errorf("export batch %s: %w", batchID, err)
		}
		add("batch.json", batchJSON)
		if err := tx.GetContext(ctx, &proof, `SELECT coalesce(proof, '') FROM batches WHERE id = $1`, batchID); err != nil {
			return fmt.Errorf("export proof of %s: %w", batchID, err)
		}
		add("draw-proof.json", proof)
		if c.Population != nil {
			var pop bytes.Buffer
			if err := c.Population(ctx, batchID, &pop); err != nil {
				return fmt.Errorf("export population of %s: %w", batchID, err)
			}
			add("population.tsv", pop.Bytes())
		}
		for _, e := range exports {
			b, err := exportCSV(ctx, tx, e.query, batchID)
			if err != nil {
				return fmt.Errorf("export %s of %s: %w", e.name, batchID, err)
			}
			add(e.name, b)
		}
		if ok, _ := tableExists(ctx, tx, "matches"); ok {
			var proofs []byte
			if err := tx.GetContext(ctx, &proofs, `SELECT coalesce(jsonb_agg(proof ORDER BY county_code, round), '[]') FROM matches WHERE batch_id = $1`, batchID); err != nil {
				return fmt.Errorf("export match proofs of %s: %w", batchID, err)
			}
			add("match-proofs.json", proofs)
		}

		head, err := audit.PublishHead(ctx, tx, "archive", batchID)
		if err != nil {
			return err
		}
		m = Manifest{BatchID: batchID, SealedAt: c.now().UTC().Truncate(time.Microsecond), AuditHead: &ChainHead{Seq: head.Seq, Hash: head.Hash}}
		for _, name := range order {
			sum := sha256.Sum256(files[name])
			m.Files = append(m.Files, File{Name: name, Bytes: len(files[name]), SHA256: hex.EncodeToString(sum[:])})
		}
		manifest, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		msum := sha256.Sum256(manifest)
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_archives (batch_id, manifest, manifest_sha256, sealed_at) VALUES ($1, $2, $3, $4)`,
			batchID, string(manifest), hex.EncodeToString(msum[:]), m.SealedAt); err != nil {
			return fmt.Errorf("store seal of %s: %w", batchID, err)
		}
		for _, f := range m.Files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_archive_files (batch_id, name, sha256, bytes, content) VALUES ($1, $2, $3, $4, $5)`,
				batchID, f.Name, f.SHA256, f.Bytes, files[f.Name]); err != nil {
				return fmt.Errorf("store %s of %s: %w", f.Name, batchID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'archived', updated_at = now(), row_version = row_version + 1 WHERE id = $1`, batchID); err != nil {
			return fmt.Errorf("mark %s archived: %w", batchID, err)
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: "workflow:batch/" + batchID, Action: "batch.archive",
			Entity: "batch", EntityID: batchID, Payload: map[string]any{"manifest_sha256": hex.EncodeToString(msum[:]), "files": len(m.Files)}})
		return err
	})
	if err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func exportCSV(ctx context.Context, tx *sqlx.Tx, query, batchID string) ([]byte, error) {
	rows, err := tx.QueryContext(ctx, query, batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	cols := make([]string, len(types))
	for i, ct := range types {
		cols[i] = ct.Name()
	}
	_ = w.Write(cols)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			rec[i] = csvField(v, types[i].DatabaseTypeName())
		}
		_ = w.Write(rec)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvField writes a DATE column as a date (2026-10-24): the driver hands
// it over as midnight UTC, which a reader would take for a timestamp.
func csvField(v any, dbType string) string {
	switch v := v.(type) {
	case nil:
		return ""
	case time.Time:
		if dbType == "DATE" {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

func tableExists(ctx context.Context, tx *sqlx.Tx, name string) (bool, error) {
	var ok bool
	err := tx.GetContext(ctx, &ok, `SELECT to_regclass($1) IS NOT NULL`, name)
	return ok, err
}

// Sealed returns a sealed archive's manifest as stored (the exact bytes its
// SHA-256 was taken of) and that hash.
func (c *Closer) Sealed(ctx context.Context, batchID string) (manifest []byte, sum string, err error) {
	var row struct {
		Manifest string `db:"manifest"`
		Sum      string `db:"manifest_sha256"`
	}
	err = c.DB.GetContext(ctx, &row, `SELECT manifest, manifest_sha256 FROM batch_archives WHERE batch_id = $1`, batchID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fault.New(fault.NotFound, "batch %s is not archived yet", batchID)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read archive of %s: %w", batchID, err)
	}
	return []byte(row.Manifest), row.Sum, nil
}

// FileContent returns one file of a sealed archive.
func (c *Closer) FileContent(ctx context.Context, batchID, name string) ([]byte, error) {
	var b []byte
	err := c.DB.GetContext(ctx, &b, `SELECT content FROM batch_archive_files WHERE batch_id = $1 AND name = $2`, batchID, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "the archive of batch %s has no file %q", batchID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", name, batchID, err)
	}
	return b, nil
}

// Archive seals the batch; it is the activity's view of Seal.
func (c *Closer) Archive(ctx context.Context, batchID string) error {
	_, err := c.Seal(ctx, batchID)
	return err
}
