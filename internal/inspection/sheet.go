package inspection

import (
	"context"
	"database/sql"

	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// WorklistMatch is a locked batch whose drawn objects in the county (not
// set aside) await the county's match: they have no task before it.
type WorklistMatch struct {
	BatchID   string `json:"batch_id" db:"batch_id"`
	BatchName string `json:"batch_name" db:"batch_name"`
	County    string `json:"county" db:"county_code"`
	Objects   int    `json:"objects" db:"objects"`
	LockedOn  string `json:"locked_on" db:"locked_on"`
}

// WorklistItem is one task's open deadline.
type WorklistItem struct {
	BatchID    string         `json:"batch_id" db:"batch_id"`
	BatchName  string         `json:"batch_name" db:"batch_name"`
	ObjectKey  string         `json:"object_key" db:"object_key"`
	ObjectName string         `json:"object_name" db:"object_name"`
	County     string         `json:"county" db:"county_code"`
	Stage      string         `json:"stage" db:"stage"`
	Inspectors pq.StringArray `json:"inspectors" db:"inspectors"`
	Duty       string         `json:"duty" db:"duty"`
	// Due is null for a review, which has no deadline of its own, and for
	// a deadline not yet computed (the task's workflow plans it a moment
	// after the task is written) or not computable (the working-day
	// calendar lacks a year it reaches).
	Due     *workday.Date  `json:"due" db:"-"`
	DueText sql.NullString `json:"-" db:"due"`
	Overdue bool           `json:"overdue" db:"overdue"`
	// WorkingDaysLeft counts the working days after today up to the due
	// day (0: due today); negative, the working days it is late. Null when
	// the calendar lacks a year on the way.
	WorkingDaysLeft *int `json:"working_days_left"`
	// Urgency is overdue, due_soon (within digest.Ahead working days, as
	// the daily digest counts them) or open.
	Urgency string `json:"urgency" db:"-"`
}

const (
	sqlWorklistMatches = `
			SELECT bo.batch_id, b.name AS batch_name, bo.county_code, count(*) AS objects,
			       to_char(b.locked_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS locked_on
			FROM batch_objects bo
			JOIN batches b ON b.id = bo.batch_id
			LEFT JOIN tasks t ON t.batch_id = bo.batch_id AND t.object_key = bo.object_key
			WHERE bo.county_code = $1 AND b.locked_at IS NOT NULL AND b.state IN ('locked', 'in_progress')
			  AND coalesce(t.stage, 'awaiting_match') = 'awaiting_match'
			  AND NOT EXISTS (SELECT 1 FROM match_set_asides s WHERE s.batch_id = bo.batch_id AND s.object_key = bo.object_key)
			  AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.batch_id = bo.batch_id AND m.county_code = bo.county_code AND m.kind = 'match')
			GROUP BY bo.batch_id, b.name, bo.county_code, b.locked_at ORDER BY b.locked_at, bo.batch_id`
	sqlWorklistItems = `
		SELECT t.batch_id, b.name AS batch_name, t.object_key, coalesce(nullif(o.name, ''), t.object_key) AS object_name, t.county_code,
		       t.stage, t.inspectors, d.duty, d.due::text AS due, coalesce(d.duty = ANY (t.overdue) OR d.due < $3::date, false) AS overdue
		FROM tasks t
		JOIN batches b ON b.id = t.batch_id
		LEFT JOIN objects o ON o.key = t.object_key
		CROSS JOIN LATERAL (VALUES
			('inspection', t.inspection_due, t.stage = 'assigned'),
			('result_entry', t.result_due, t.stage IN ('inspected', 'returned')),
			('review', NULL::date, t.stage = 'result_entered'),
			('publication', t.publication_due, t.stage = 'approved'),
			('follow_up_entry', t.follow_up_due, t.stage = 'follow_up')) AS d (duty, due, open)
		WHERE t.stage <> 'closed' AND d.open
		  AND ($1 = '' OR t.county_code = $1) AND ($2 = '' OR $2 = ANY (t.inspectors)) AND NOT $4
		ORDER BY d.due NULLS FIRST, t.batch_id, t.object_key LIMIT 500`
)

// WorklistMatches are the county's locked batches whose objects await its match.
func (s *Store) WorklistMatches(ctx context.Context, county string) ([]WorklistMatch, error) {
	out := []WorklistMatch{}
	if err := s.db.SelectContext(ctx, &out, sqlWorklistMatches, county); err != nil {
		return nil, err
	}
	return out, nil
}

// WorklistItems are the open deadlines of the tasks in scope, soonest first
// (at most 500); Overdue compares with today.
func (s *Store) WorklistItems(ctx context.Context, sc TaskScope, today workday.Date) ([]WorklistItem, error) {
	out := []WorklistItem{}
	if err := s.db.SelectContext(ctx, &out, sqlWorklistItems, sc.County, sc.InspectorKey, today.String(), sc.None); err != nil {
		return nil, err
	}
	return out, nil
}

// Sheet is the stored content of a record sheet (检查记录表).
type Sheet struct {
	Batch  SheetBatch       `json:"batch"`
	Object SheetObject      `json:"object"`
	Items  []SheetItem      `json:"items"`
	Team   []SheetInspector `json:"team"`
	Result *SheetResult     `json:"result"`
}

// SheetBatch names the batch of a sheet.
type SheetBatch struct {
	ID   string `json:"id" db:"id"`
	Name string `json:"name" db:"name"`
}

// SheetObject is the inspected object.
type SheetObject struct {
	Key        string `json:"key" db:"key"`
	Name       string `json:"name" db:"name"`
	Address    string `json:"address" db:"address"`
	RegionCode string `json:"region_code" db:"region_code"`
	RegionName string `json:"region_name" db:"region_name"`
}

// SheetItem is one check item version the object was drawn on.
type SheetItem struct {
	Code       string         `json:"code" db:"code"`
	Version    int            `json:"version" db:"version"`
	Name       string         `json:"name" db:"name"`
	Authority  string         `json:"authority" db:"authority"`
	LegalBasis string         `json:"legal_basis" db:"legal_basis"`
	Content    string         `json:"content" db:"content"`
	Methods    pq.StringArray `json:"methods" db:"methods"`
}

// SheetInspector is a member of the team.
type SheetInspector struct {
	Key         string `json:"key" db:"key"`
	Name        string `json:"name" db:"name"`
	Unit        string `json:"unit" db:"unit"`
	Certificate string `json:"certificate_no" db:"certificate_no"`
}

// SheetResult is the result as entered.
type SheetResult struct {
	Code           string `json:"result_code" db:"result_code"`
	Method         string `json:"method" db:"method"`
	Notes          string `json:"notes" db:"notes"`
	SuspectedCrime bool   `json:"suspected_crime" db:"suspected_crime"`
	// Review is approved or returned once reviewed, with its comment.
	Review        string `json:"review" db:"review"`
	ReviewComment string `json:"review_comment" db:"review_comment"`
}

// ReadSheet fills sh with the record sheet of the task; inspectors are the
// task's team in order.
const (
	sqlSheetBatch  = `SELECT id, name FROM batches WHERE id = $1`
	sqlSheetObject = `SELECT o.key, o.name, o.address, o.region_code, coalesce(r.name, '') AS region_name
			FROM objects o LEFT JOIN regions r ON r.code = o.region_code WHERE o.key = $1`
	sqlSheetItems = `
			SELECT ci.code, ci.version, ci.name, ci.authority, ci.legal_basis, ci.content, ci.methods
			FROM batch_objects bo JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = ANY (bo.item_codes)
			JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
			WHERE bo.batch_id = $1 AND bo.object_key = $2 ORDER BY bi.position`
	sqlSheetTeam = `SELECT key, name, unit, certificate_no
			FROM inspectors WHERE key = ANY ($1) ORDER BY array_position($1, key::text)`
	sqlSheetResult = `SELECT result_code, method, notes, suspected_crime, coalesce(review, '') AS review, review_comment
			FROM results WHERE batch_id = $1 AND object_key = $2 ORDER BY revision DESC LIMIT 1`
)

func (s *Store) ReadSheet(ctx context.Context, batchID, key string, inspectors []string, sh *Sheet) error {
	err := s.db.GetContext(ctx, &sh.Batch, sqlSheetBatch, batchID)
	if err == nil {
		err = s.db.GetContext(ctx, &sh.Object, sqlSheetObject, key)
	}
	if err == nil {
		err = s.db.SelectContext(ctx, &sh.Items, sqlSheetItems, batchID, key)
	}
	if err == nil && len(inspectors) > 0 {
		err = s.db.SelectContext(ctx, &sh.Team, sqlSheetTeam, pq.Array(inspectors))
	}
	if err == nil {
		var r []SheetResult
		err = s.db.SelectContext(ctx, &r, sqlSheetResult, batchID, key)
		if len(r) > 0 {
			sh.Result = &r[0]
		}
	}
	return err
}
