package inspection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// A Store reads and writes the inspection's records: tasks and the checks
// the API makes on them. It is the one place their SQL lives.
type Store struct{ db *sqlx.DB }

// NewStore returns the store over db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// TaskRecord is a drawn object's task as it is stored; the API adds what it
// derives (such as calendar warnings) around it.
type TaskRecord struct {
	BatchID        string        `json:"batch_id" db:"batch_id"`
	ObjectKey      string        `json:"object_key" db:"object_key"`
	ObjectName     string        `json:"object_name" db:"object_name"`
	County         string        `json:"county" db:"county_code"`
	CountyName     string        `json:"county_name" db:"-"`
	Stage          string        `json:"stage" db:"stage"`
	Inspectors     []string      `json:"inspectors" db:"-"`
	InspectionDue  *workday.Date `json:"inspection_due,omitempty" db:"-"`
	InspectedOn    *workday.Date `json:"inspected_on,omitempty" db:"-"`
	ResultDue      *workday.Date `json:"result_due,omitempty" db:"-"`
	FollowUpDue    *workday.Date `json:"follow_up_due,omitempty" db:"-"`
	PublicationDue *workday.Date `json:"publication_due,omitempty" db:"-"`
	// FollowUpCompletionDue: the follow-up of problems found is completed
	// by this day (duty follow_up).
	FollowUpCompletionDue *workday.Date `json:"follow_up_completion_due,omitempty" db:"-"`
	Overdue               []string      `json:"overdue" db:"-"`
	UpdatedAt             time.Time     `json:"updated_at" db:"updated_at"`
	// UnscheduledYear is the year without a holiday schedule an open
	// deadline reached when the task was written (0: none).
	UnscheduledYear int `json:"-" db:"-"`
}

const taskColumns = `t.batch_id, t.object_key, coalesce(o.name, '') AS object_name, t.county_code, t.stage, t.inspectors,
	t.inspection_due::text, t.inspected_on::text, t.result_due::text, t.follow_up_due::text, t.publication_due::text,
	t.overdue, t.updated_at, coalesce(t.unscheduled_year, 0), t.follow_up_completion_due::text,
	coalesce((SELECT name FROM regions WHERE code = t.county_code), '')`

const (
	sqlTask = `SELECT ` + taskColumns + ` FROM tasks t LEFT JOIN objects o ON o.key = t.object_key
		WHERE t.batch_id = $1 AND t.object_key = $2`
	sqlTasks = `SELECT ` + taskColumns + ` FROM tasks t LEFT JOIN objects o ON o.key = t.object_key
		WHERE t.batch_id = $1 AND t.object_key > $2 AND ($3 = '' OR t.county_code = $3) AND ($4 = '' OR t.stage = $4)
		  AND ($5 = '' OR (cardinality(t.overdue) > 0) = ($5 = 'true')) AND ($6 = '' OR $6 = ANY (t.inspectors)) AND NOT $7
		ORDER BY t.object_key LIMIT $8`
	sqlTaskVisible = `
		SELECT EXISTS (SELECT 1 FROM tasks WHERE batch_id = $1 AND object_key = $2
		               AND ($3 = '' OR county_code = $3) AND ($4 = '' OR $4 = ANY (inspectors)) AND NOT $5)`
	sqlCountyLocked = `SELECT EXISTS (SELECT 1 FROM batches b JOIN batch_objects o ON o.batch_id = b.id
				WHERE b.id = $1 AND b.state = 'locked' AND o.county_code = $2)`
	sqlLockedAt = `SELECT locked_at FROM batches WHERE id = $1`
)

func scanTask(row interface{ Scan(...any) error }) (TaskRecord, error) {
	var t TaskRecord
	var dates [6]sql.NullString
	var inspectors, overdue pq.StringArray
	err := row.Scan(&t.BatchID, &t.ObjectKey, &t.ObjectName, &t.County, &t.Stage, &inspectors,
		&dates[0], &dates[1], &dates[2], &dates[3], &dates[4], &overdue, &t.UpdatedAt, &t.UnscheduledYear, &dates[5], &t.CountyName)
	if err != nil {
		return t, err
	}
	t.Inspectors, t.Overdue = []string(inspectors), []string(overdue)
	ptrs := []**workday.Date{&t.InspectionDue, &t.InspectedOn, &t.ResultDue, &t.FollowUpDue, &t.PublicationDue, &t.FollowUpCompletionDue}
	for i, d := range dates {
		if d.Valid {
			if v, err := workday.ParseDate(d.String); err == nil {
				*ptrs[i] = &v
			}
		}
	}
	return t, nil
}

// Task reads one task; a task that does not exist is NotFound.
func (s *Store) Task(ctx context.Context, batchID, key string) (TaskRecord, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, sqlTask, batchID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fault.New(fault.NotFound, "batch %s has no task for object %s", batchID, key)
	}
	return t, err
}

// TaskScope narrows task reads to what one caller may see: a county, an
// inspector's own tasks, or nothing at all.
type TaskScope struct {
	County       string
	InspectorKey string
	None         bool
}

// TaskFilter selects a page of a batch's tasks, after the cursor by object key.
type TaskFilter struct {
	BatchID, After string
	County, Stage  string
	// Overdue is "", "true" or "false".
	Overdue string
	Scope   TaskScope
	Limit   int
}

// Tasks lists up to f.Limit tasks of f, by object key.
func (s *Store) Tasks(ctx context.Context, f TaskFilter) ([]TaskRecord, error) {
	rows, err := s.db.QueryContext(ctx, sqlTasks, f.BatchID, f.After, f.County, f.Stage, f.Overdue, f.Scope.InspectorKey, f.Scope.None, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list the tasks of batch %s: %w", f.BatchID, err)
	}
	defer rows.Close()
	out := []TaskRecord{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("read a task of batch %s: %w", f.BatchID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TaskVisible tells whether the task exists within the scope.
func (s *Store) TaskVisible(ctx context.Context, batchID, key string, sc TaskScope) (bool, error) {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, sqlTaskVisible, batchID, key, sc.County, sc.InspectorKey, sc.None); err != nil {
		return false, fmt.Errorf("check task %s/%s: %w", batchID, key, err)
	}
	return ok, nil
}

// CountyLocked tells whether the batch is locked with objects in the county,
// so that the county's workflow is about to start.
func (s *Store) CountyLocked(ctx context.Context, batchID, county string) (bool, error) {
	var locked bool
	err := s.db.GetContext(ctx, &locked, sqlCountyLocked, batchID, county)
	return locked, err
}

// LockedAt is when the batch was locked, nil before (or for no such batch).
func (s *Store) LockedAt(ctx context.Context, batchID string) (*time.Time, error) {
	var locked *time.Time
	err := s.db.GetContext(ctx, &locked, sqlLockedAt, batchID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read the lock of batch %s: %w", batchID, err)
	}
	return locked, nil
}
