package batch

// Reads of batches, their drawn lists, proofs and populations.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Get returns batch id, with its strata, exclusions and, once locked, its
// counts per county.
func (s *Service) Get(ctx context.Context, id string) (Batch, error) {
	var row batchRow
	err := s.db.GetContext(ctx, &row, `SELECT `+batchColumns+` FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return Batch{}, fmt.Errorf("read batch %s: %w", id, err)
	}
	b, err := row.batch(true)
	if err != nil {
		return Batch{}, err
	}
	if b.LockedAt != nil {
		if b.Counties, err = countyCounts(ctx, s.db, id); err != nil {
			return Batch{}, err
		}
	}
	return b, nil
}

// A ListRequest selects a page of batches, newest first.
type ListRequest struct {
	State  State  // only batches in this state, if set
	Cursor string // from the previous page
	Limit  int
}

// List returns a page of batches, newest first, without their strata and
// exclusions (Get has them), and the cursor of the next page, empty on the
// last.
func (s *Service) List(ctx context.Context, req ListRequest) ([]Batch, string, error) {
	after := time.Time{}
	afterID := ""
	if req.Cursor != "" {
		ts, id, ok := strings.Cut(req.Cursor, "|")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil {
			return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
		}
		after, afterID = t, id
	}
	if req.State != "" && !knownState(req.State) {
		return nil, "", fault.Field("state", "%q is not a batch state", req.State)
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows []batchRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+batchColumns+` FROM batches
		WHERE ($1 = '' OR state = $1) AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`,
		string(req.State), nullTime(after), afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list batches: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID
	}
	out := make([]Batch, len(rows))
	for i := range rows {
		b, err := rows[i].batch(false)
		if err != nil {
			return nil, "", err
		}
		out[i] = b
	}
	return out, next, nil
}

func knownState(s State) bool {
	switch s {
	case Committed, Frozen, Drawn, Locked, Archived, Cancelled, "in_progress", "published":
		return true
	}
	return false
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Drawn returns a page of batch id's drawn list in the proof's order,
// only the objects assigned to county if it is set, and the cursor of the
// next page, empty on the last.
func (s *Service) Drawn(ctx context.Context, id, county, cursor string, limit int) ([]DrawnObject, string, error) {
	after := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
		}
		after = n
	}
	if limit <= 0 {
		limit = 50
	}
	var row struct {
		State   State        `db:"state"`
		DrawnAt sql.NullTime `db:"drawn_at"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, drawn_at FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read batch %s: %w", id, err)
	}
	if !row.DrawnAt.Valid {
		return nil, "", fault.New(fault.Conflict, "batch %s is %s: it has not been drawn yet", id, row.State)
	}
	if county != "" {
		var known bool
		if err := s.db.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM regions WHERE code = $1)`, county); err != nil {
			return nil, "", fmt.Errorf("read regions: %w", err)
		}
		if !known {
			return nil, "", fault.Field("county", "%q is not a region code", county)
		}
	}
	rows, err := s.db.QueryxContext(ctx, `
		SELECT bo.position, bo.object_key, coalesce(o.name, ''), bo.stratum, bo.item_codes,
			coalesce(bo.region_code, ''), coalesce(bo.county_code, ''),
			coalesce((SELECT name FROM regions WHERE code = bo.region_code), ''),
			coalesce((SELECT name FROM regions WHERE code = bo.county_code), ''),
			ARRAY(SELECT coalesce(c.name, '') FROM unnest(bo.item_codes) WITH ORDINALITY AS u (code, n)
				LEFT JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = u.code
				LEFT JOIN check_items c ON c.code = bi.item_code AND c.version = bi.item_version ORDER BY u.n)
		FROM batch_objects bo LEFT JOIN objects o ON o.key = bo.object_key
		WHERE bo.batch_id = $1 AND bo.position > $2 AND ($3 = '' OR bo.county_code = $3)
		ORDER BY bo.position LIMIT $4`, id, after, county, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
	}
	defer rows.Close()
	objects := []DrawnObject{}
	for rows.Next() {
		var o DrawnObject
		if err := rows.Scan(&o.Position, &o.ObjectKey, &o.Name, &o.Stratum, pq.Array(&o.ItemCodes), &o.RegionCode, &o.CountyCode,
			&o.RegionName, &o.CountyName, pq.Array(&o.ItemNames)); err != nil {
			return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
		}
		objects = append(objects, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
	}
	next := ""
	if len(objects) > limit {
		objects = objects[:limit]
		next = strconv.Itoa(objects[limit-1].Position)
	}
	return objects, next, nil
}

// Proof returns the published draw proof of batch id, the JSON of a
// [PublicProof] exactly as stored at the draw. Before the draw there is
// none: it is not found.
func (s *Service) Proof(ctx context.Context, id string) ([]byte, error) {
	var row struct {
		State State          `db:"state"`
		Proof sql.NullString `db:"proof"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, proof FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read proof of batch %s: %w", id, err)
	}
	if !row.Proof.Valid {
		return nil, fault.New(fault.NotFound, "batch %s is %s: its draw proof is published once it is drawn", id, row.State)
	}
	return []byte(row.Proof.String), nil
}

// WritePopulation writes the frozen population of batch id to w in the
// canonical form of DRAW-SPEC (one "object_key TAB stratum" line per
// object, sorted by key), the bytes whose SHA-256 is the batch's
// population_hash. Before the freeze there is none: it is not found.
func (s *Service) WritePopulation(ctx context.Context, id string, w io.Writer) error {
	var row struct {
		State State          `db:"state"`
		Hash  sql.NullString `db:"population_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, population_hash FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return fmt.Errorf("read batch %s: %w", id, err)
	}
	if !row.Hash.Valid {
		return fault.New(fault.NotFound, "batch %s is %s: its population is published once it is frozen", id, row.State)
	}
	_, entries, err := loadPopulation(ctx, s.db, id, true)
	if err != nil {
		return err
	}
	hash, err := draw.WritePopulation(w, entries)
	if err != nil {
		return fmt.Errorf("write population of batch %s: %w", id, err)
	}
	if hash != row.Hash.String {
		return fmt.Errorf("batch %s: the stored population hashes to %s, not the published %s", id, hash, row.Hash.String)
	}
	return nil
}
