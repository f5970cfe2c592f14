package inspection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// A page of a county's matched objects is tracked together until each
// object is first reported on: one workflow (the tracker) watches their
// shared inspection deadline, and these writes move the whole page in one
// statement each, as an object's own writes would move its row.

// PageAssignment assigns the objects of a page to their teams with the
// batch's inspection deadline.
type PageAssignment struct {
	BatchID string   `json:"batch_id"`
	County  string   `json:"county"`
	Keys    []string `json:"keys"`
	// Tracker is the workflow that watches the page; Seq the task rows'
	// change number after this write.
	Tracker         string        `json:"tracker"`
	Seq             int           `json:"seq"`
	InspectionDue   *workday.Date `json:"inspection_due,omitempty"`
	UnscheduledYear int           `json:"unscheduled_year,omitempty"`
}

// AssignPage marks the page's tasks assigned, each with its round-1 team
// and the inspection deadline. Rows already past Seq (a retry, or an
// object already opened) are left as they are.
func (s *Store) AssignPage(ctx context.Context, a PageAssignment) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE tasks t SET stage = 'assigned', tracker = $3, seq = $4, inspection_due = $5, unscheduled_year = nullif($6, 0),
			inspectors = coalesce((SELECT array_agg(ma.inspector_key ORDER BY ma.department_code, ma.position)
				FROM match_assignments ma WHERE ma.batch_id = t.batch_id AND ma.object_key = t.object_key AND ma.round = 1), '{}'),
			updated_at = now()
		WHERE t.batch_id = $1 AND t.object_key = ANY($2) AND t.seq < $4`,
		a.BatchID, pq.Array(a.Keys), a.Tracker, a.Seq, sqlDate(a.InspectionDue), a.UnscheduledYear)
	if err != nil {
		return fmt.Errorf("assign %d objects of batch %s (%s): %w", len(a.Keys), a.BatchID, a.Tracker, err)
	}
	return nil
}

// PageLapse is a deadline that passed for objects of a page nobody has
// reported on yet.
type PageLapse struct {
	BatchID string       `json:"batch_id"`
	County  string       `json:"county"`
	Keys    []string     `json:"keys"`
	Duty    string       `json:"duty"`
	Due     workday.Date `json:"due"`
	Seq     int          `json:"seq"`
	At      time.Time    `json:"at"`
}

// OpenPageLapse writes a ledger entry for each object, with its audit row,
// and flags the objects' tasks overdue, in one transaction. Entries that
// exist already (a retry) are neither written nor audited again.
func (s *Store) OpenPageLapse(ctx context.Context, l PageLapse) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var opened []string
		if err := tx.SelectContext(ctx, &opened, `
			INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at)
			SELECT $1, k, $3, $4, $5, $6 FROM unnest($2::text[]) AS k
			ON CONFLICT (batch_id, object_key, duty, due) DO NOTHING
			RETURNING object_key`,
			l.BatchID, pq.Array(l.Keys), l.County, l.Duty, l.Due.String(), l.At); err != nil {
			return fmt.Errorf("open %d accountability entries of batch %s: %w", len(l.Keys), l.BatchID, err)
		}
		for _, k := range opened {
			one := Lapse{BatchID: l.BatchID, ObjectKey: k, County: l.County, Duty: l.Duty, Due: l.Due, At: l.At}
			if _, err := audit.Append(ctx, tx, audit.Entry{Action: "accountability.open", Entity: "task",
				EntityID: l.BatchID + "/" + k, Actor: "workflow:" + l.BatchID, Payload: one}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tasks SET overdue = ARRAY[$3::text], seq = $4, updated_at = now()
			WHERE batch_id = $1 AND object_key = ANY($2) AND seq < $4`,
			l.BatchID, pq.Array(l.Keys), l.Duty, l.Seq); err != nil {
			return fmt.Errorf("flag %d tasks of batch %s overdue: %w", len(l.Keys), l.BatchID, err)
		}
		return nil
	})
}

// Tracker names the workflow that tracks a drawn object until it is first
// reported on ("" when none does: an object tracked from its start, or a
// task of a targeted case).
func (s *Store) Tracker(ctx context.Context, batchID, key string) (string, error) {
	var tracker string
	err := s.db.GetContext(ctx, &tracker, `SELECT coalesce(tracker, '') FROM tasks WHERE batch_id = $1 AND object_key = $2`, batchID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tracker of %s/%s: %w", batchID, key, err)
	}
	return tracker, nil
}
