package batch

// Lock: the drawn list is fixed and each object assigned to its county.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Lock locks the drawn list and assigns each drawn object to its county
// (锁定分配至县): the county of an object is its region as drawn, or the
// region's parent when that parent has a parent itself (a town or street
// under a county), and writes every object's task row, awaiting its
// county's match. It returns the number of objects per county. Locking
// again returns the same counts.
func (s *Service) Lock(ctx context.Context, id string) ([]CountyCount, error) {
	var counts []CountyCount
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		var row struct {
			State   State        `db:"state"`
			DrawnAt sql.NullTime `db:"drawn_at"`
		}
		if err := lockBatch(ctx, tx, id, "state, drawn_at", &row); err != nil {
			return err
		}
		if !reached(row.State, Locked) {
			if !CanTransition(row.State, Locked) {
				return fault.New(fault.Conflict, "batch %s is %s; only a drawn batch can be locked", id, row.State)
			}
			if _, err := tx.ExecContext(ctx, `
				UPDATE batch_objects bo
				SET county_code = rc.county_code FROM region_counties rc
				WHERE bo.batch_id = $1 AND rc.code = bo.region_code`, id); err != nil {
				return fmt.Errorf("assign counties of batch %s: %w", id, err)
			}
			// The whole batch is visible at once: every drawn object has its
			// task row from the lock on, awaiting its county's match, written
			// as one set (the object workflows later move it on; their first
			// write has seq 1 and replaces this one).
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO tasks (batch_id, object_key, county_code, stage)
				SELECT batch_id, object_key, county_code, 'awaiting_match' FROM batch_objects
				WHERE batch_id = $1 AND county_code IS NOT NULL
				ON CONFLICT (batch_id, object_key) DO NOTHING`, id); err != nil {
				return fmt.Errorf("write the tasks of batch %s: %w", id, err)
			}
			if err := transition(ctx, tx, id, row.State, Locked, `locked_at = $4`, later(s.now(), row.DrawnAt.Time)); err != nil {
				return err
			}
		}
		var err error
		counts, err = countyCounts(ctx, tx, id)
		return err
	})
	return counts, err
}

func countyCounts(ctx context.Context, q sqlx.QueryerContext, id string) ([]CountyCount, error) {
	counts := []CountyCount{}
	err := sqlx.SelectContext(ctx, q, &counts, `
		SELECT coalesce(bo.county_code, '') AS county_code, coalesce(r.name, '') AS county_name, count(*) AS objects
		FROM batch_objects bo LEFT JOIN regions r ON r.code = bo.county_code
		WHERE bo.batch_id = $1 GROUP BY 1, 2 ORDER BY 1`, id)
	if err != nil {
		return nil, fmt.Errorf("count objects per county of batch %s: %w", id, err)
	}
	return counts, nil
}

// lockBatch reads columns of batch id into dest, locking its row for the
// transaction.
func lockBatch(ctx context.Context, tx *sqlx.Tx, id, columns string, dest any) error {
	err := tx.GetContext(ctx, dest, `SELECT `+columns+` FROM batches WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return fmt.Errorf("read batch %s: %w", id, err)
	}
	return nil
}

// transition moves batch id from one state to another, setting the
// columns of set (whose parameters start at $4) in the same statement.
func transition(ctx context.Context, tx *sqlx.Tx, id string, from, to State, set string, args ...any) error {
	if !CanTransition(from, to) {
		return fault.New(fault.Conflict, "batch %s cannot go from %s to %s", id, from, to)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE batches SET state = $3, updated_at = now(), row_version = row_version + 1, `+set+`
		WHERE id = $1 AND state = $2`, append([]any{id, from, to}, args...)...)
	if err != nil {
		return fmt.Errorf("batch %s %s → %s: %w", id, from, to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("batch %s %s → %s: the batch changed meanwhile", id, from, to)
	}
	// Every step of the draw is in the audit trail with what it fixed.
	var after json.RawMessage
	if err := tx.GetContext(ctx, &after, `SELECT jsonb_build_object('population_hash', population_hash, 'population_size', population_size,
		'beacon', beacon, 'seed', seed, 'drawn_count', drawn_count, 'frozen_at', frozen_at, 'drawn_at', drawn_at, 'locked_at', locked_at)
		FROM batches WHERE id = $1`, id); err != nil {
		return fmt.Errorf("batch %s %s → %s: %w", id, from, to, err)
	}
	_, err = audit.Append(ctx, tx, audit.Entry{Actor: "workflow:batch/" + id, Action: "draw." + string(to), Entity: "batch", EntityID: id, Payload: after})
	return err
}

// CountyList is one county's drawn objects, in drawn order.
type CountyList struct {
	County  string
	Objects []string
}

// DrawnByCounty lists the locked batch id's drawn objects by county, each
// county's in drawn order. An object without a county (its region left the
// directory) is an error: it could not be assigned.
func (s *Service) DrawnByCounty(ctx context.Context, id string) ([]CountyList, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT coalesce(county_code, ''), object_key FROM batch_objects
		WHERE batch_id = $1 ORDER BY county_code, position`, id)
	if err != nil {
		return nil, fmt.Errorf("read the counties of batch %s: %w", id, err)
	}
	defer rows.Close()
	var lists []CountyList
	for rows.Next() {
		var county, key string
		if err := rows.Scan(&county, &key); err != nil {
			return nil, fmt.Errorf("read the counties of batch %s: %w", id, err)
		}
		if county == "" {
			return nil, fmt.Errorf("object %s of batch %s has no county: its region left the directory", key, id)
		}
		if len(lists) == 0 || lists[len(lists)-1].County != county {
			lists = append(lists, CountyList{County: county})
		}
		lists[len(lists)-1].Objects = append(lists[len(lists)-1].Objects, key)
	}
	return lists, rows.Err()
}
