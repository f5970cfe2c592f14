package inspection

// The writes of the task tables: each keyed by its natural key, so that a
// retried or replayed activity changes nothing the second time, and each
// with its audit row in the same transaction.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// TaskState is the task row as the object workflow sees it after its
// Seq-th change.
type TaskState struct {
	BatchID        string        `json:"batch_id"`
	ObjectKey      string        `json:"object_key"`
	County         string        `json:"county"`
	Seq            int           `json:"seq"`
	Stage          Stage         `json:"stage"`
	Team           []string      `json:"team"`
	InspectionDue  *workday.Date `json:"inspection_due,omitempty"`
	InspectedOn    *workday.Date `json:"inspected_on,omitempty"`
	ResultDue      *workday.Date `json:"result_due,omitempty"`
	FollowUpDue    *workday.Date `json:"follow_up_due,omitempty"`
	PublicationDue *workday.Date `json:"publication_due,omitempty"`
	// FollowUpCompletionDue: the follow-up of problems found is completed
	// by this day.
	FollowUpCompletionDue *workday.Date `json:"follow_up_completion_due,omitempty"`
	Overdue               []string      `json:"overdue"`
	// UnscheduledYear is the first year without a holiday schedule that an
	// open deadline of the task reaches (0: none).
	UnscheduledYear int `json:"unscheduled_year,omitempty"`
}

// RecordTask upserts the task row. A write older than the stored one (a late
// retry) is ignored. Entering follow-up opens the object's follow-up (which
// keeps it out of new draws); closing the task closes it.
func (s *Store) RecordTask(ctx context.Context, r TaskState) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		return recordTask(ctx, tx, r)
	})
}

func recordTask(ctx context.Context, tx *sqlx.Tx, r TaskState) error {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, inspection_due, inspected_on,
		                   result_due, follow_up_due, publication_due, overdue, seq, unscheduled_year, follow_up_completion_due, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, nullif($13, 0), $14, now())
		ON CONFLICT (batch_id, object_key) DO UPDATE SET
			stage = EXCLUDED.stage, inspectors = EXCLUDED.inspectors, inspection_due = EXCLUDED.inspection_due,
			inspected_on = EXCLUDED.inspected_on, result_due = EXCLUDED.result_due,
			follow_up_due = EXCLUDED.follow_up_due, publication_due = EXCLUDED.publication_due,
			overdue = EXCLUDED.overdue, seq = EXCLUDED.seq, unscheduled_year = EXCLUDED.unscheduled_year,
			follow_up_completion_due = EXCLUDED.follow_up_completion_due, updated_at = now()
		WHERE tasks.seq < EXCLUDED.seq`,
		r.BatchID, r.ObjectKey, r.County, string(r.Stage), pq.Array(nonNil(r.Team)), sqlDate(r.InspectionDue),
		sqlDate(r.InspectedOn), sqlDate(r.ResultDue), sqlDate(r.FollowUpDue), sqlDate(r.PublicationDue),
		pq.Array(nonNil(r.Overdue)), r.Seq, r.UnscheduledYear, sqlDate(r.FollowUpCompletionDue))
	if err != nil {
		return fmt.Errorf("record task %s/%s: %w", r.BatchID, r.ObjectKey, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	switch r.Stage {
	case Inspected:
		// The object directory learns of the inspection, so that the next
		// draws' "inspected within the window" exclusion sees it.
		if r.InspectedOn == nil {
			break
		}
		if _, err = tx.ExecContext(ctx, `SELECT set_config('spotcheck.actor', $1, true), set_config('spotcheck.source', 'lifecycle', true)`,
			"workflow:batch/"+r.BatchID); err != nil {
			break
		}
		_, err = tx.ExecContext(ctx, `UPDATE objects SET last_inspected_at = $2::date, row_version = row_version + 1, updated_at = now()
			WHERE key = $1 AND (last_inspected_at IS NULL OR last_inspected_at < $2::date)`, r.ObjectKey, r.InspectedOn.String())
	case FollowUp:
		_, err = tx.ExecContext(ctx, `INSERT INTO object_follow_ups (object_key, batch_id)
			SELECT $1::text, $2::text WHERE NOT EXISTS (SELECT 1 FROM object_follow_ups WHERE object_key = $1::text AND batch_id = $2::text)`, r.ObjectKey, r.BatchID)
	case Closed:
		_, err = tx.ExecContext(ctx, `UPDATE object_follow_ups SET closed_at = now()
			WHERE object_key = $1 AND batch_id = $2 AND closed_at IS NULL`, r.ObjectKey, r.BatchID)
	}
	if err != nil {
		return fmt.Errorf("follow-up of %s/%s: %w", r.BatchID, r.ObjectKey, err)
	}
	return nil
}

// ResultRecord is one revision of an entered result.
type ResultRecord struct {
	BatchID   string    `json:"batch_id"`
	ObjectKey string    `json:"object_key"`
	Revision  int       `json:"revision"`
	Result    Result    `json:"result"`
	At        time.Time `json:"at"`
}

// SaveResult stores a result revision once.
func (s *Store) SaveResult(ctx context.Context, r ResultRecord) error {
	return s.audited(ctx, audit.Entry{Action: "result.enter", Entity: "task", EntityID: r.BatchID + "/" + r.ObjectKey, Actor: r.Result.EnteredBy.String(), Payload: r}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO results (batch_id, object_key, revision, result_code, method, notes, problems_found, entered_by, entered_at, suspected_crime, follow_up_action)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nullif($11, ''))
		ON CONFLICT (batch_id, object_key, revision) DO NOTHING`,
			r.BatchID, r.ObjectKey, r.Revision, r.Result.Code, r.Result.Method, r.Result.Notes,
			FindsProblem(r.Result.Code), r.Result.EnteredBy.String(), r.At, r.Result.SuspectedCrime, r.Result.FollowUpAction)
	}, func(tx *sqlx.Tx, hash string) error {
		// The public row names the audit entry whose payload it must match.
		_, err := tx.ExecContext(ctx, `UPDATE results SET audit_hash = $4 WHERE batch_id = $1 AND object_key = $2 AND revision = $3`,
			r.BatchID, r.ObjectKey, r.Revision, hash)
		return err
	})
}

// ReviewRecord is a county officer's decision on a result revision.
type ReviewRecord struct {
	BatchID   string    `json:"batch_id"`
	ObjectKey string    `json:"object_key"`
	Revision  int       `json:"revision"`
	Review    Review    `json:"review"`
	At        time.Time `json:"at"`
}

// SaveReview records the decision on a revision that has none yet.
func (s *Store) SaveReview(ctx context.Context, r ReviewRecord) error {
	decision := "returned"
	if r.Review.Approve {
		decision = "approved"
	}
	return s.audited(ctx, audit.Entry{Action: "result.review", Entity: "task", EntityID: r.BatchID + "/" + r.ObjectKey, Actor: r.Review.Reviewer.String(), Payload: r}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		UPDATE results SET review = $4, review_comment = $5, reviewed_by = $6, reviewed_at = $7
		WHERE batch_id = $1 AND object_key = $2 AND revision = $3 AND review IS NULL`,
			r.BatchID, r.ObjectKey, r.Revision, decision, r.Review.Comment, r.Review.Reviewer.String(), r.At)
	})
}

// FollowUpRecord is the follow-up of an object: its completion day and,
// once entered, the measures taken.
type FollowUpRecord struct {
	BatchID     string        `json:"batch_id"`
	ObjectKey   string        `json:"object_key"`
	Entry       FollowUpEntry `json:"entry"`
	CompletedOn workday.Date  `json:"completed_on"`
	At          time.Time     `json:"at"`
}

// SaveFollowUp upserts the follow-up; actions, once entered, are kept.
func (s *Store) SaveFollowUp(ctx context.Context, r FollowUpRecord) error {
	var enteredBy *string
	var enteredAt *time.Time
	if len(r.Entry.Actions) > 0 {
		s := r.Entry.EnteredBy.String()
		enteredBy, enteredAt = &s, &r.At
	}
	return s.audited(ctx, audit.Entry{Action: "follow_up.enter", Entity: "task", EntityID: r.BatchID + "/" + r.ObjectKey, Actor: r.Entry.EnteredBy.String(), Payload: r}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO follow_ups (batch_id, object_key, completed_on, actions, notes, entered_by, entered_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (batch_id, object_key) DO UPDATE SET
			completed_on = EXCLUDED.completed_on, actions = EXCLUDED.actions, notes = EXCLUDED.notes,
			entered_by = EXCLUDED.entered_by, entered_at = EXCLUDED.entered_at
		WHERE follow_ups.entered_at IS NULL`,
			r.BatchID, r.ObjectKey, r.CompletedOn.String(), pq.Array(nonNil(r.Entry.Actions)), r.Entry.Notes, enteredBy, enteredAt)
	})
}

// TransferRecord is the transfer of a suspected crime to a judicial organ.
type TransferRecord struct {
	BatchID       string       `json:"batch_id"`
	ObjectKey     string       `json:"object_key"`
	Organ         string       `json:"organ"`
	TransferredOn workday.Date `json:"transferred_on"`
	DocumentNo    string       `json:"document_no"`
	By            string       `json:"by"`
	At            time.Time    `json:"at"`
}

// SaveTransfer records the transfer once.
func (s *Store) SaveTransfer(ctx context.Context, r TransferRecord) error {
	return s.audited(ctx, audit.Entry{Action: "judicial_transfer.enter", Entity: "task", EntityID: r.BatchID + "/" + r.ObjectKey, Actor: r.By, Payload: r}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO judicial_transfers (batch_id, object_key, organ, transferred_on, document_no, entered_by, entered_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (batch_id, object_key) DO NOTHING`,
			r.BatchID, r.ObjectKey, r.Organ, r.TransferredOn.String(), r.DocumentNo, r.By, r.At)
	})
}

// PublishInput publishes an object's approved result.
type PublishInput struct {
	BatchID   string    `json:"batch_id"`
	ObjectKey string    `json:"object_key"`
	At        time.Time `json:"at"`
}

// Publish makes the approved result public (结果公示), once.
func (s *Store) Publish(ctx context.Context, in PublishInput) error {
	return s.audited(ctx, audit.Entry{Action: "result.publish", Entity: "task", EntityID: in.BatchID + "/" + in.ObjectKey, Actor: "workflow:" + in.BatchID, Payload: in}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO publications (batch_id, object_key, published_at) VALUES ($1, $2, $3)
		ON CONFLICT (batch_id, object_key) DO NOTHING`, in.BatchID, in.ObjectKey, in.At)
	}, func(tx *sqlx.Tx, hash string) error {
		_, err := tx.ExecContext(ctx, `UPDATE publications SET audit_hash = $3 WHERE batch_id = $1 AND object_key = $2`, in.BatchID, in.ObjectKey, hash)
		return err
	})
}

// Lapse is a missed deadline: which duty, which unit, when it was due.
type Lapse struct {
	BatchID   string       `json:"batch_id"`
	ObjectKey string       `json:"object_key"` // empty for county-level duties
	County    string       `json:"county"`
	Duty      string       `json:"duty"`
	Due       workday.Date `json:"due"`
	At        time.Time    `json:"at"`
}

// OpenLapse writes the ledger entry for a missed deadline.
func (s *Store) OpenLapse(ctx context.Context, l Lapse) error {
	return s.audited(ctx, audit.Entry{Action: "accountability.open", Entity: "task", EntityID: l.BatchID + "/" + l.ObjectKey, Actor: "workflow:" + l.BatchID, Payload: l}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (batch_id, object_key, duty, due) DO NOTHING`,
			l.BatchID, l.ObjectKey, l.County, l.Duty, l.Due.String(), l.At)
	})
}

// Resolution closes a ledger entry on the day the duty was finally met.
type Resolution struct {
	Lapse
	On workday.Date `json:"on"`
}

// ResolveLapse closes the ledger entry of r on r.On, daysLate working
// days late (nil: an unscheduled year, for a person to settle).
func (s *Store) ResolveLapse(ctx context.Context, r Resolution, daysLate *int) error {
	_, err := s.db.ExecContext(ctx, resolveLapse, r.BatchID, r.ObjectKey, r.Duty, r.Due.String(), r.On.String(), daysLate)
	if err != nil {
		return fmt.Errorf("resolve accountability %s/%s %s: %w", r.BatchID, r.ObjectKey, r.Duty, err)
	}
	return nil
}

const resolveLapse = `
		UPDATE accountability SET resolved_on = $5, working_days_late = $6
		WHERE batch_id = $1 AND object_key = $2 AND duty = $3 AND due = $4 AND resolved_on IS NULL`

// ExtensionRecord is a deadline moved by a coordinator.
type ExtensionRecord struct {
	BatchID   string       `json:"batch_id"`
	ObjectKey string       `json:"object_key"`
	Duty      string       `json:"duty"`
	OldDue    workday.Date `json:"old_due"`
	NewDue    workday.Date `json:"new_due"`
	Reason    string       `json:"reason"`
	By        string       `json:"by"`
	At        time.Time    `json:"at"`
}

// SaveExtension records a deadline extension once.
func (s *Store) SaveExtension(ctx context.Context, e ExtensionRecord) error {
	return s.audited(ctx, audit.Entry{Action: "deadline.extend", Entity: "task", EntityID: e.BatchID + "/" + e.ObjectKey, Actor: e.By, Payload: e}, func(tx *sqlx.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `
		INSERT INTO deadline_extensions (batch_id, object_key, duty, old_due, new_due, reason, extended_by, extended_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (batch_id, object_key, duty, new_due) DO NOTHING`,
			e.BatchID, e.ObjectKey, e.Duty, e.OldDue.String(), e.NewDue.String(), e.Reason, e.By, e.At)
	})
}

// audited runs write in a transaction and, when it changed a row, appends
// entry to the audit trail in the same transaction: a retried activity
// changes nothing and so records nothing twice.
// stamp, when given, stores the audit row's hash in the row written.
func (s *Store) audited(ctx context.Context, entry audit.Entry, write func(*sqlx.Tx) (sql.Result, error), stamp ...func(tx *sqlx.Tx, hash string) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := write(tx)
		if err != nil {
			return fmt.Errorf("%s %s: %w", entry.Action, entry.EntityID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rec, err := audit.Append(ctx, tx, entry)
		if err != nil {
			return err
		}
		for _, s := range stamp {
			if err := s(tx, rec.Hash); err != nil {
				return fmt.Errorf("%s %s: stamp the audit hash: %w", entry.Action, entry.EntityID, err)
			}
		}
		return nil
	})
}

func (s *Store) inTx(ctx context.Context, f func(*sqlx.Tx) error) error {
	return pgtx.Run(ctx, s.db, nil, f)
}

func sqlDate(d *workday.Date) any {
	if d == nil {
		return nil
	}
	return d.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
