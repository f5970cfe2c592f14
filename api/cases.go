package api

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// Targeted checks (案件: complaints, referrals, 转办交办) run the lifecycle of
// a drawn object outside any draw: workflows.ObjectWorkflow as it is, with
// BatchID "case-<id>", so its workflow ID is ObjectWorkflowID("case-<id>",
// key) = "batch/case-<id>/object/<key>" and its task, results, follow-up,
// publication and ledger rows carry batch_id "case-<id>". The task
// endpoints (/batches/case-<id>/tasks/<key>/…) then serve it unchanged.
// The county of jurisdiction assigns the team (at least two certified
// inspectors of the county, no declared conflict): a random match of one
// object would be no random draw, and the complaint may need a specialist.

var validCaseID = regexp.MustCompile(`^[0-9A-Za-z._-]{1,48}$`)

var caseSources = map[string]string{
	"complaint": "投诉举报",
	"referral":  "移送",
	"assigned":  "转办交办",
	"lead":      "线索",
}

// CaseBatchID is the batch_id a case's rows carry.
func CaseBatchID(caseID string) string { return "case-" + caseID }

// Case is a targeted check.
type Case struct {
	ID             string       `json:"id" db:"id"`
	Year           int          `json:"year" db:"year"`
	Source         string       `json:"source" db:"source"`
	SourceName     string       `json:"source_name" db:"-"`
	SourceRef      string       `json:"source_ref" db:"source_ref"`
	Summary        string       `json:"summary" db:"summary"`
	ObjectKey      string       `json:"object_key" db:"object_key"`
	County         string       `json:"county_code" db:"county_code"`
	DepartmentCode string       `json:"department_code,omitempty" db:"department_code"`
	ItemCodes      []string     `json:"item_codes" db:"-"`
	InspectionEnd  workday.Date `json:"inspection_end" db:"-"`
	State          string       `json:"state" db:"state"`
	Team           []string     `json:"team" db:"-"`
	BatchID        string       `json:"batch_id" db:"-"`
	TaskStage      string       `json:"task_stage,omitempty" db:"task_stage"`
	CreatedBy      string       `json:"created_by" db:"created_by"`
	CreatedAt      time.Time    `json:"created_at" db:"created_at"`
	Version        int64        `json:"version" db:"row_version"`
}

type caseRow struct {
	Case
	Dept   sql.NullString `db:"dept"`
	Items  pq.StringArray `db:"item_codes"`
	TeamA  pq.StringArray `db:"team"`
	End    string         `db:"inspection_end"`
	Policy []byte         `db:"policy"`
}

func (r caseRow) value() Case {
	c := r.Case
	c.DepartmentCode = r.Dept.String
	c.ItemCodes, c.Team = append([]string{}, r.Items...), append([]string{}, r.TeamA...)
	c.InspectionEnd, _ = workday.ParseDate(r.End)
	c.SourceName = caseSources[c.Source]
	c.BatchID = CaseBatchID(c.ID)
	return c
}

const caseSelect = `SELECT c.id, c.year, c.source, c.source_ref, c.summary, c.object_key, c.county_code,
	c.department_code AS dept, c.item_codes, c.inspection_end::text, c.state, c.team, c.policy, c.created_by,
	c.created_at, c.row_version, coalesce(t.stage, '') AS task_stage
	FROM cases c LEFT JOIN tasks t ON t.batch_id = 'case-' || c.id AND t.object_key = c.object_key`

func (s *Server) caseRoutes(v1 *gin.RouterGroup) {
	v1.POST("/cases", requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.CountyOfficer), s.createCase)
	v1.GET("/cases", s.listCases)
	v1.GET("/cases/:id", s.getCase)
	v1.POST("/cases/:id/assign", requireRole(auth.CountyOfficer), s.assignCase)
}

type caseRequest struct {
	ID             string         `json:"id"`
	Source         string         `json:"source"`
	SourceRef      string         `json:"source_ref"`
	Summary        string         `json:"summary"`
	ObjectKey      string         `json:"object_key"`
	DepartmentCode string         `json:"department_code"`
	ItemCodes      []string       `json:"item_codes"`
	InspectionEnd  workday.Date   `json:"inspection_end"`
	Policy         *policyRequest `json:"policy,omitempty"`
}

// createCase answers POST /cases: the case goes to the county of its
// object's jurisdiction (the object's region, or that region's county).
func (s *Server) createCase(c *gin.Context) {
	var req caseRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	today := s.today()
	var ps []fault.Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !validCaseID.MatchString(req.ID) {
		add("id", "use 1 to 48 letters, digits, '.', '_' or '-'")
	}
	if _, ok := caseSources[req.Source]; !ok {
		add("source", "%q is not a source: complaint (投诉举报), referral (移送), assigned (转办交办) or lead (线索)", req.Source)
	}
	if strings.TrimSpace(req.Summary) == "" {
		add("summary", "say what the case is about")
	}
	policy, err := createRequest{InspectionEnd: req.InspectionEnd, Policy: req.Policy}.policy(today)
	if e, ok := fault.As(err); ok {
		ps = append(ps, e.Problems...)
	}
	var county string
	err = s.d.DB.GetContext(ctx, &county, `
		SELECT CASE WHEN p.parent_code IS NOT NULL THEN r.parent_code ELSE r.code END
		FROM objects o JOIN regions r ON r.code = o.region_code LEFT JOIN regions p ON p.code = r.parent_code
		WHERE o.key = $1`, req.ObjectKey)
	if errors.Is(err, sql.ErrNoRows) {
		add("object_key", "no object %q in the directory", req.ObjectKey)
	} else if err != nil {
		s.fail(c, err)
		return
	}
	if req.DepartmentCode != "" {
		var ok bool
		if err := s.d.DB.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, req.DepartmentCode); err != nil || !ok {
			add("department_code", "no department %q", req.DepartmentCode)
		}
	}
	if req.ItemCodes == nil {
		req.ItemCodes = []string{}
	}
	for i, code := range req.ItemCodes {
		var ok bool
		if err := s.d.DB.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM check_items WHERE code = $1)`, code); err != nil || !ok {
			add(fmt.Sprintf("item_codes[%d]", i), "no check item %q", code)
		}
	}
	if err := fault.Invalids("the case cannot be accepted", ps); err != nil {
		s.fail(c, err)
		return
	}
	if sc := principalOf(c).Scope(); sc.County != "" && sc.County != county {
		s.fail(c, fault.New(fault.Forbidden, "object %s is under county %s; you register cases of county %s", req.ObjectKey, county, sc.County))
		return
	}
	raw, _ := json.Marshal(policy)
	_, err = s.d.DB.ExecContext(ctx, `
		INSERT INTO cases (id, year, source, source_ref, summary, object_key, county_code, department_code, item_codes,
		                   inspection_end, state, policy, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), $9, $10, 'open', $11, $12)`,
		req.ID, today.Year, req.Source, req.SourceRef, req.Summary, req.ObjectKey, county, req.DepartmentCode,
		pq.Array(req.ItemCodes), req.InspectionEnd.String(), raw, actorOf(c))
	var pqe *pq.Error
	if errors.As(err, &pqe) && pqe.Code == "23505" {
		s.fail(c, fault.New(fault.Conflict, "case %s already exists", req.ID))
		return
	}
	if err != nil {
		s.fail(c, fmt.Errorf("store case %s: %w", req.ID, err))
		return
	}
	got, err := s.readCase(ctx, req.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/cases/"+url.PathEscape(got.ID))
	c.JSON(http.StatusCreated, got)
}

func (s *Server) readCase(ctx context.Context, id string) (Case, error) {
	var r caseRow
	err := s.d.DB.GetContext(ctx, &r, caseSelect+` WHERE c.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fault.New(fault.NotFound, "no case %s", id)
	}
	if err != nil {
		return Case{}, fmt.Errorf("read case %s: %w", id, err)
	}
	return r.value(), nil
}

// visibleCase reads a case, refusing one of another county as not found.
func (s *Server) visibleCase(c *gin.Context, id string) (Case, error) {
	k, err := s.readCase(c.Request.Context(), id)
	if err != nil {
		return k, err
	}
	sc := principalOf(c).Scope()
	if (sc.County != "" && sc.County != k.County) || (sc.InspectorKey != "" && !slices.Contains(k.Team, sc.InspectorKey)) || sc.None {
		return Case{}, fault.New(fault.NotFound, "no case %s that you can see", id)
	}
	return k, nil
}

func (s *Server) getCase(c *gin.Context) {
	k, err := s.visibleCase(c, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

// listCases answers GET /cases?year=&county=: a county officer sees their
// county's.
func (s *Server) listCases(c *gin.Context) {
	q, err := checkQuery(c, "year", "county")
	if err != nil {
		s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), false)
	if err != nil {
		s.fail(c, err)
		return
	}
	county := q.Get("county")
	sc := principalOf(c).Scope()
	if sc.County != "" {
		if county != "" && county != sc.County {
			s.fail(c, fault.New(fault.Forbidden, "a county officer of %s sees only that county's cases, not %s", sc.County, county))
			return
		}
		county = sc.County
	}
	var rows []caseRow
	err = s.d.DB.SelectContext(c.Request.Context(), &rows, caseSelect+`
		WHERE ($1 = 0 OR c.year = $1) AND ($2 = '' OR c.county_code = $2) AND ($3 = '' OR $3 = ANY (c.team)) AND NOT $4
		ORDER BY c.created_at DESC, c.id LIMIT 1000`, year, county, sc.InspectorKey, sc.None)
	if err != nil {
		s.fail(c, err)
		return
	}
	items := make([]Case, len(rows))
	for i, r := range rows {
		items[i] = r.value()
	}
	c.JSON(http.StatusOK, Page[Case]{Items: items})
}

// assignCase answers POST /cases/{id}/assign {"inspectors": [...]}: the
// county officer names the team, and the case's object workflow starts.
// The same team again restarts nothing; another team once assigned is a
// conflict (replace an inspector through the task instead).
func (s *Server) assignCase(c *gin.Context) {
	var body struct {
		Inspectors []string `json:"inspectors"`
	}
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	k, err := s.visibleCase(c, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	team := slices.Clone(body.Inspectors)
	slices.Sort(team)
	var policy workflows.Policy
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r caseRow
		if err := tx.GetContext(ctx, &r, `SELECT c.id, c.state, c.team, c.object_key, c.county_code, c.inspection_end::text, c.policy
			FROM cases c WHERE c.id = $1 FOR UPDATE`, k.ID); err != nil {
			return err
		}
		if err := json.Unmarshal(r.Policy, &policy); err != nil {
			return err
		}
		switch r.State {
		case "cancelled":
			return fault.New(fault.Conflict, "case %s is cancelled", k.ID)
		case "assigned":
			if !slices.Equal([]string(r.TeamA), team) {
				return fault.New(fault.Conflict, "case %s already has its team %v", k.ID, []string(r.TeamA))
			}
			return nil
		}
		if err := checkTeam(ctx, tx, k, team); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE cases SET state = 'assigned', team = $2, assigned_by = $3, assigned_at = now(),
			row_version = row_version + 1 WHERE id = $1`, k.ID, pq.Array(team), actorOf(c))
		return err
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	bid := CaseBatchID(k.ID)
	_, err = s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ObjectWorkflowID(bid, k.ObjectKey),
		TaskQueue:                s.d.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.ObjectWorkflow, workflows.ObjectInput{BatchID: bid, County: k.County, ObjectKey: k.ObjectKey,
		Team: team, InspectionEnd: k.InspectionEnd, Policy: policy})
	if err != nil {
		s.fail(c, fmt.Errorf("start the inspection of case %s (repeat the request to retry): %w", k.ID, err))
		return
	}
	got, err := s.readCase(ctx, k.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, got)
}

// checkTeam refuses a team of fewer than two, or with an inspector not
// active in the case's county, without a certificate valid through the
// inspection period, or with a declared conflict with the object (回避).
func checkTeam(ctx context.Context, tx *sqlx.Tx, k Case, team []string) error {
	var ps []fault.Problem
	if len(team) < 2 || len(slices.Compact(slices.Clone(team))) != len(team) {
		ps = append(ps, fault.Problem{Field: "inspectors", Message: "name at least two different inspectors"})
	}
	for i, key := range team {
		field := fmt.Sprintf("inspectors[%d]", i)
		var in struct {
			County string       `db:"county"`
			Status string       `db:"status"`
			Valid  sql.NullTime `db:"certificate_valid_until"`
			Recuse bool         `db:"recuse"`
		}
		err := tx.GetContext(ctx, &in, `
			SELECT CASE WHEN p.parent_code IS NOT NULL THEN r.parent_code ELSE r.code END AS county, i.status,
			       i.certificate_valid_until,
			       EXISTS (SELECT 1 FROM inspector_conflicts ic WHERE ic.inspector_key = i.key AND ic.object_key = $2) AS recuse
			FROM inspectors i JOIN regions r ON r.code = i.region_code LEFT JOIN regions p ON p.code = r.parent_code
			WHERE i.key = $1`, key, k.ObjectKey)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("no inspector %q", key)})
		case err != nil:
			return err
		case in.County != k.County:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s is an inspector of %s, not of %s", key, in.County, k.County)})
		case in.Status != "active":
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s is %s", key, in.Status)})
		case !in.Valid.Valid || workday.DateOf(in.Valid.Time).Before(k.InspectionEnd):
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s has no enforcement certificate valid through %s", key, k.InspectionEnd)})
		case in.Recuse:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s has declared a conflict of interest with %s (回避)", key, k.ObjectKey)})
		}
	}
	return fault.Invalids("the team cannot inspect this case", ps)
}

func (s *Server) inTx(ctx context.Context, f func(*sqlx.Tx) error) error {
	tx, err := s.d.DB.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}
