package api

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// worklistRoutes are the reads of the people who do a batch's work: a
// county officer's and an inspector's 待办 with the working days left on
// each open deadline, a county's pool before its match, and the content of
// an inspection's record sheet (检查记录表).
func (s *Server) worklistRoutes(v1 *gin.RouterGroup) {
	m := staffing.NewService(s.d.DB)
	v1.GET("/worklist", requireRole(auth.CountyOfficer, auth.Inspector), s.getWorklist)
	v1.GET("/batches/:id/counties/:county/match-pool", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer), countyOfRoute(),
		func(c *gin.Context) {
			if _, err := checkQuery(c); err != nil {
				s.fail(c, err)
				return
			}
			pv, err := m.Preview(c.Request.Context(), c.Param("id"), c.Param("county"))
			if err != nil {
				s.fail(c, err)
				return
			}
			c.JSON(http.StatusOK, pv)
		})
	v1.GET("/batches/:id/tasks/:key/sheet", s.getTaskSheet)
}

// Worklist is what a county officer or an inspector has to do.
type Worklist struct {
	Today workday.Date `json:"today"`
	// Matches are the counties' matches still to run (county officers).
	Matches []WorklistMatch `json:"matches"`
	// Items are the open deadlines of the caller's tasks, soonest first.
	Items []WorklistItem `json:"items"`
}

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

// getWorklist answers the caller's worklist: a county officer's county, an
// inspector's own tasks. Which deadline is open follows the task's stage,
// as in the daily digest.
func (s *Server) getWorklist(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	sc := principalOf(c).Scope()
	w := Worklist{Today: s.today(), Matches: []WorklistMatch{}, Items: []WorklistItem{}}
	if sc.County != "" {
		if err := s.d.DB.SelectContext(ctx, &w.Matches, `
			SELECT bo.batch_id, b.name AS batch_name, bo.county_code, count(*) AS objects,
			       to_char(b.locked_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS locked_on
			FROM batch_objects bo
			JOIN batches b ON b.id = bo.batch_id
			LEFT JOIN tasks t ON t.batch_id = bo.batch_id AND t.object_key = bo.object_key
			WHERE bo.county_code = $1 AND b.locked_at IS NOT NULL AND b.state IN ('locked', 'in_progress')
			  AND coalesce(t.stage, 'awaiting_match') = 'awaiting_match'
			  AND NOT EXISTS (SELECT 1 FROM match_set_asides s WHERE s.batch_id = bo.batch_id AND s.object_key = bo.object_key)
			  AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.batch_id = bo.batch_id AND m.county_code = bo.county_code AND m.kind = 'match')
			GROUP BY bo.batch_id, b.name, bo.county_code, b.locked_at ORDER BY b.locked_at, bo.batch_id`, sc.County); err != nil {
			s.fail(c, fmt.Errorf("worklist: matches of %s: %w", sc.County, err))
			return
		}
	}
	if err := s.d.DB.SelectContext(ctx, &w.Items, `
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
		ORDER BY d.due NULLS FIRST, t.batch_id, t.object_key LIMIT 500`, sc.County, sc.InspectorKey, w.Today.String(), sc.None); err != nil {
		s.fail(c, fmt.Errorf("worklist: open deadlines: %w", err))
		return
	}
	cal, err := s.calendar().Calendar(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range w.Items {
		it := &w.Items[i]
		if !it.DueText.Valid {
			it.Urgency = "open"
			continue
		}
		due, err := workday.ParseDate(it.DueText.String)
		if err != nil {
			s.fail(c, fmt.Errorf("worklist: due %q: %w", it.DueText.String, err))
			return
		}
		it.Due = &due
		left, err := workingDaysLeft(cal, w.Today, due)
		var missing *workday.UnscheduledYearError
		switch {
		case errors.As(err, &missing):
		case err != nil:
			s.fail(c, err)
			return
		default:
			it.WorkingDaysLeft = &left
		}
		it.Urgency = urgency(it.Overdue, it.WorkingDaysLeft)
	}
	c.JSON(http.StatusOK, w)
}

// workingDaysLeft is the working days from today to due: after today up
// to and including due, or minus those after due up to today when it has
// passed.
func workingDaysLeft(cal *workday.Calendar, today, due workday.Date) (int, error) {
	if due.Before(today) {
		n, err := cal.WorkingDaysBetween(due, today)
		return -n, err
	}
	return cal.WorkingDaysBetween(today, due)
}

func urgency(overdue bool, left *int) string {
	switch {
	case overdue || (left != nil && *left < 0):
		return "overdue"
	case left != nil && *left <= digest.Ahead:
		return "due_soon"
	}
	return "open"
}

// TaskSheet is what the record sheet of an inspection (检查记录表) prints:
// the object, the batch's items it is checked on with their basis and
// content, the team and, once entered, the result.
type TaskSheet struct {
	Task    Task             `json:"task"`
	Batch   SheetBatch       `json:"batch"`
	Object  SheetObject      `json:"object"`
	Items   []SheetItem      `json:"items"`
	Team    []SheetInspector `json:"team"`
	Result  *SheetResult     `json:"result"`
	Methods []string         `json:"methods"` // the methods its items allow
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

// getTaskSheet answers the record sheet of a task in the caller's scope.
func (s *Server) getTaskSheet(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	batchID, key := c.Param("id"), c.Param("key")
	if err := s.visibleTask(c, batchID, key); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.task(ctx, batchID, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	sh := TaskSheet{Task: t, Items: []SheetItem{}, Team: []SheetInspector{}, Methods: []string{}}
	err = s.d.DB.GetContext(ctx, &sh.Batch, `SELECT id, name FROM batches WHERE id = $1`, batchID)
	if err == nil {
		err = s.d.DB.GetContext(ctx, &sh.Object, `SELECT o.key, o.name, o.address, o.region_code, coalesce(r.name, '') AS region_name
			FROM objects o LEFT JOIN regions r ON r.code = o.region_code WHERE o.key = $1`, key)
	}
	if err == nil {
		err = s.d.DB.SelectContext(ctx, &sh.Items, `
			SELECT ci.code, ci.version, ci.name, ci.authority, ci.legal_basis, ci.content, ci.methods
			FROM batch_objects bo JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = ANY (bo.item_codes)
			JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
			WHERE bo.batch_id = $1 AND bo.object_key = $2 ORDER BY bi.position`, batchID, key)
	}
	if err == nil && len(t.Inspectors) > 0 {
		err = s.d.DB.SelectContext(ctx, &sh.Team, `SELECT key, name, unit, certificate_no
			FROM inspectors WHERE key = ANY ($1) ORDER BY array_position($1, key::text)`, pq.Array(t.Inspectors))
	}
	if err == nil {
		var r []SheetResult
		err = s.d.DB.SelectContext(ctx, &r, `SELECT result_code, method, notes, suspected_crime, coalesce(review, '') AS review, review_comment
			FROM results WHERE batch_id = $1 AND object_key = $2 ORDER BY revision DESC LIMIT 1`, batchID, key)
		if len(r) > 0 {
			sh.Result = &r[0]
		}
	}
	if err != nil {
		s.fail(c, fmt.Errorf("record sheet of %s in %s: %w", key, batchID, err))
		return
	}
	seen := map[string]bool{}
	for _, it := range sh.Items {
		for _, m := range it.Methods {
			if !seen[m] && library.Methods.Chinese(m) != "" {
				seen[m] = true
				sh.Methods = append(sh.Methods, m)
			}
		}
	}
	c.JSON(http.StatusOK, sh)
}
