// Package cases keeps targeted checks (案件: complaints, referrals, 转办交办,
// leads): one object checked outside any draw, through the same inspection
// lifecycle as a drawn object.
//
// A case's rows carry batch_id "case-<id>" (BatchID), so its task, result,
// follow-up, publication and ledger rows, and its object workflow
// ("batch/case-<id>/object/<key>"), are those of a drawn object. The county
// of the object's jurisdiction names the team itself (at least two certified
// inspectors of the county): a random match of one object would be no random
// draw, and a complaint may need a specialist.
package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Sources are the kinds of case, with their Chinese names.
var Sources = map[string]string{
	"complaint": "投诉举报",
	"referral":  "移送",
	"assigned":  "转办交办",
	"lead":      "线索",
}

var validID = regexp.MustCompile(`^[0-9A-Za-z._-]{1,48}$`)

// BatchID is the batch_id a case's rows carry.
func BatchID(caseID string) string { return "case-" + caseID }

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
	// Policy is the lifecycle policy the case's object workflow runs with
	// (the workflow's Policy, as JSON).
	Policy json.RawMessage `json:"-" db:"-"`
}

// Visible reports whether scope may see the case: a county officer their
// county's, an inspector the cases of their team.
func (k Case) Visible(scope auth.Scope) bool {
	return !scope.None && (scope.County == "" || scope.County == k.County) &&
		(scope.InspectorKey == "" || slices.Contains(k.Team, scope.InspectorKey))
}

type row struct {
	Case
	Dept   sql.NullString `db:"dept"`
	Items  pq.StringArray `db:"item_codes"`
	TeamA  pq.StringArray `db:"team"`
	End    string         `db:"inspection_end"`
	Policy []byte         `db:"policy"`
}

func (r row) value() Case {
	c := r.Case
	c.DepartmentCode = r.Dept.String
	c.ItemCodes, c.Team = append([]string{}, r.Items...), append([]string{}, r.TeamA...)
	c.InspectionEnd, _ = workday.ParseDate(r.End)
	c.SourceName = Sources[c.Source]
	c.BatchID = BatchID(c.ID)
	c.Policy = json.RawMessage(r.Policy)
	return c
}

const (
	selectCases = `SELECT c.id, c.year, c.source, c.source_ref, c.summary, c.object_key, c.county_code,
		c.department_code AS dept, c.item_codes, c.inspection_end::text, c.state, c.team, c.policy, c.created_by,
		c.created_at, c.row_version, coalesce(t.stage, '') AS task_stage
		FROM cases c LEFT JOIN tasks t ON t.batch_id = 'case-' || c.id AND t.object_key = c.object_key`
	selectObjectCounty = `SELECT rc.county_code FROM objects o JOIN region_counties rc ON rc.code = o.region_code
		WHERE o.key = $1`
	departmentExists = `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`
	itemExists       = `SELECT EXISTS (SELECT 1 FROM check_items WHERE code = $1)`
	insertCase       = `INSERT INTO cases (id, year, source, source_ref, summary, object_key, county_code, department_code,
		item_codes, inspection_end, state, policy, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), $9, $10, 'open', $11, $12)`
	listCases = selectCases + `
		WHERE ($1 = 0 OR c.year = $1) AND ($2 = '' OR c.county_code = $2) AND ($3 = '' OR $3 = ANY (c.team)) AND NOT $4
		ORDER BY c.created_at DESC, c.id LIMIT 1000`
	lockCase = `SELECT c.id, c.state, c.team, c.object_key, c.county_code, c.inspection_end::text, c.policy
		FROM cases c WHERE c.id = $1 FOR UPDATE`
	assignTeam = `UPDATE cases SET state = 'assigned', team = $2, assigned_by = $3, assigned_at = now(),
		row_version = row_version + 1 WHERE id = $1`
	selectMember = `SELECT rc.county_code AS county, i.status, i.certificate_valid_until
		FROM inspectors i JOIN region_counties rc ON rc.code = i.region_code
		WHERE i.key = $1`
	selectConflicts = `SELECT inspector_key FROM inspector_conflicts WHERE object_key = $1`
)

// Service registers cases and assigns their teams.
type Service struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewService returns the service over db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db, now: time.Now} }

// WithClock returns the service with now as its clock (the year a case is
// registered in).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// New is a case to register.
type New struct {
	ID             string
	Source         string
	SourceRef      string
	Summary        string
	ObjectKey      string
	DepartmentCode string
	ItemCodes      []string
	InspectionEnd  workday.Date
	// Policy is the checked lifecycle policy (JSON), and Invalid the
	// problems the caller found in the parts it checks itself (the policy):
	// they are reported together with the case's own.
	Policy  json.RawMessage
	Invalid []fault.Problem
}

// Create registers a case with the county of its object's jurisdiction (the
// object's region, or that region's county). A county officer (scope)
// registers only cases of their own county.
func (s *Service) Create(ctx context.Context, n New, scope auth.Scope, actor string) (Case, error) {
	ps := slices.Clone(n.Invalid)
	add := func(field, format string, args ...any) {
		ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !validID.MatchString(n.ID) {
		add("id", "use 1 to 48 letters, digits, '.', '_' or '-'")
	}
	if _, ok := Sources[n.Source]; !ok {
		add("source", "%q is not a source: complaint (投诉举报), referral (移送), assigned (转办交办) or lead (线索)", n.Source)
	}
	if strings.TrimSpace(n.Summary) == "" {
		add("summary", "say what the case is about")
	}
	var county string
	err := s.db.GetContext(ctx, &county, selectObjectCounty, n.ObjectKey)
	if errors.Is(err, sql.ErrNoRows) {
		add("object_key", "no object %q in the directory", n.ObjectKey)
	} else if err != nil {
		return Case{}, fmt.Errorf("read the county of object %s: %w", n.ObjectKey, err)
	}
	if n.DepartmentCode != "" {
		var ok bool
		if err := s.db.GetContext(ctx, &ok, departmentExists, n.DepartmentCode); err != nil || !ok {
			add("department_code", "no department %q", n.DepartmentCode)
		}
	}
	items := n.ItemCodes
	if items == nil {
		items = []string{}
	}
	for i, code := range items {
		var ok bool
		if err := s.db.GetContext(ctx, &ok, itemExists, code); err != nil || !ok {
			add(fmt.Sprintf("item_codes[%d]", i), "no check item %q", code)
		}
	}
	if err := fault.Invalids("the case cannot be accepted", ps); err != nil {
		return Case{}, err
	}
	if scope.County != "" && scope.County != county {
		return Case{}, fault.New(fault.Forbidden, "object %s is under county %s; you register cases of county %s", n.ObjectKey, county, scope.County)
	}
	_, err = s.db.ExecContext(ctx, insertCase, n.ID, workday.DateOf(s.now()).Year, n.Source, n.SourceRef, n.Summary,
		n.ObjectKey, county, n.DepartmentCode, pq.Array(items), n.InspectionEnd.String(), []byte(n.Policy), actor)
	var pqe *pq.Error
	if errors.As(err, &pqe) && pqe.Code == "23505" {
		return Case{}, fault.New(fault.Conflict, "case %s already exists", n.ID)
	}
	if err != nil {
		return Case{}, fmt.Errorf("store case %s: %w", n.ID, err)
	}
	return s.Get(ctx, n.ID)
}

// Get reads a case.
func (s *Service) Get(ctx context.Context, id string) (Case, error) {
	var r row
	err := s.db.GetContext(ctx, &r, selectCases+` WHERE c.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fault.New(fault.NotFound, "no case %s", id)
	}
	if err != nil {
		return Case{}, fmt.Errorf("read case %s: %w", id, err)
	}
	return r.value(), nil
}

// Visible reads a case that scope may see; another county's is not found.
func (s *Service) Visible(ctx context.Context, id string, scope auth.Scope) (Case, error) {
	k, err := s.Get(ctx, id)
	if err != nil {
		return k, err
	}
	if !k.Visible(scope) {
		return Case{}, fault.New(fault.NotFound, "no case %s that you can see", id)
	}
	return k, nil
}

// List returns the cases of year (0: all) and county ("": all) that scope
// may see, newest first; a county officer asking for another county is
// refused.
func (s *Service) List(ctx context.Context, year int, county string, scope auth.Scope) ([]Case, error) {
	if scope.County != "" {
		if county != "" && county != scope.County {
			return nil, fault.New(fault.Forbidden, "a county officer of %s sees only that county's cases, not %s", scope.County, county)
		}
		county = scope.County
	}
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, listCases, year, county, scope.InspectorKey, scope.None); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out := make([]Case, len(rows))
	for i, r := range rows {
		out[i] = r.value()
	}
	return out, nil
}

// Assign gives the case its team, checked by CheckTeam. The same team again
// changes nothing (the caller may retry starting the workflow); another team
// once assigned is a conflict (replace an inspector through the task
// instead).
func (s *Service) Assign(ctx context.Context, id string, team []string, scope auth.Scope, actor string) (Case, error) {
	k, err := s.Visible(ctx, id, scope)
	if err != nil {
		return Case{}, err
	}
	// The team is checked in the order of the request (so that a problem
	// names the caller's inspectors[i]) and stored sorted.
	sorted := slices.Sorted(slices.Values(team))
	err = pgtx.Run(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		var r row
		if err := tx.GetContext(ctx, &r, lockCase, k.ID); err != nil {
			return fmt.Errorf("lock case %s: %w", k.ID, err)
		}
		switch r.State {
		case "cancelled":
			return fault.New(fault.Conflict, "case %s is cancelled", k.ID)
		case "assigned":
			if !slices.Equal([]string(r.TeamA), sorted) {
				return fault.New(fault.Conflict, "case %s already has its team %v", k.ID, []string(r.TeamA))
			}
			return nil
		}
		if err := checkTeam(ctx, tx, k, team); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, assignTeam, k.ID, pq.Array(sorted), actor); err != nil {
			return fmt.Errorf("assign the team of case %s: %w", k.ID, err)
		}
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	return s.Get(ctx, k.ID)
}

// checkTeam refuses a team of fewer than two, or with an inspector not
// active in the case's county, without a certificate valid through the
// inspection period, or with a declared conflict with the object (回避).
func checkTeam(ctx context.Context, tx *sqlx.Tx, k Case, team []string) error {
	var ps []fault.Problem
	if len(team) < 2 || len(slices.Compact(slices.Clone(team))) != len(team) {
		ps = append(ps, fault.Problem{Field: "inspectors", Message: "name at least two different inspectors"})
	}
	var conflicts []string
	if err := tx.SelectContext(ctx, &conflicts, selectConflicts, k.ObjectKey); err != nil {
		return fmt.Errorf("read the declared conflicts with %s: %w", k.ObjectKey, err)
	}
	// The match's recusal rule, with the exemptions of a targeted case: it
	// is assigned, not drawn, so the rotation away from the object's
	// previous team (a rule of the random match, which keeps a draw from
	// sending the same people back) does not apply, and a case names no
	// check item checked across stations; declared conflicts always do.
	recused := staffing.Recused(staffing.RecusalFacts{Conflicts: conflicts}, nil)
	for i, key := range team {
		field := fmt.Sprintf("inspectors[%d]", i)
		var in struct {
			County string     `db:"county"`
			Status string     `db:"status"`
			Valid  *time.Time `db:"certificate_valid_until"`
		}
		err := tx.GetContext(ctx, &in, selectMember, key)
		if errors.Is(err, sql.ErrNoRows) {
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("no inspector %q", key)})
			continue
		}
		if err != nil {
			return fmt.Errorf("read inspector %s: %w", key, err)
		}
		switch why := staffing.Ineligible(in.Status, in.Valid, k.InspectionEnd); {
		case in.County != k.County:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s is an inspector of %s, not of %s", key, in.County, k.County)})
		case why == staffing.IneligibleStatus:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s is %s", key, in.Status)})
		case why == staffing.IneligibleCertificate:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s has no enforcement certificate valid through %s", key, k.InspectionEnd)})
		case len(recused[key]) > 0:
			ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf("%s has declared a conflict of interest with %s (回避)", key, k.ObjectKey)})
		}
	}
	return fault.Invalids("the team cannot inspect this case", ps)
}
