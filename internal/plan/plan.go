// Package plan keeps the annual inspection plans (年度抽查工作计划) of the
// city's departments and counties: what they check (item versions), how
// much of each stratum (ratios by risk and credit class), when each batch
// is drawn and inspected, and with whom (joint departments). A plan moves
// draft → submitted → approved (by the city coordinator) → published; the
// published plans of a year make the city plan (市级抽查计划) the public reads.
package plan

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// State is where a plan is in its approval.
type State string

// The states, in order.
const (
	Draft     State = "draft"
	Submitted State = "submitted"
	Approved  State = "approved"
	Published State = "published"
)

// Action moves a plan from one state to the next.
type Action string

// The actions.
const (
	Submit  Action = "submit"  // draft → submitted, by its owner
	Return  Action = "return"  // submitted → draft, by the coordinator, for changes
	Approve Action = "approve" // submitted → approved, by the coordinator
	Publish Action = "publish" // approved → published (向社会公开)
)

var transitions = map[Action]struct{ from, to State }{
	Submit:  {Draft, Submitted},
	Return:  {Submitted, Draft},
	Approve: {Submitted, Approved},
	Publish: {Approved, Published},
}

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	if _, ok := transitions[Action(s)]; !ok {
		return "", fault.New(fault.NotFound, "no plan action %q: use submit, return, approve or publish", s)
	}
	return Action(s), nil
}

// Startable reports whether a plan in state s may start its batches.
func Startable(s State) bool { return s == Approved || s == Published }

// china is the zone of every civil date in the plans.
var china = time.FixedZone("CST", 8*3600)

// DefaultDrawTime is the time of day a batch planned for a date is drawn.
const DefaultDrawTime = 9 * time.Hour

const maxBatches = 24

var validID = regexp.MustCompile(`^[0-9A-Za-z._-]{1,48}$`)

// Spec is a plan as its owner writes it.
type Spec struct {
	ID               string            `json:"id"`
	Year             int               `json:"year"`
	Name             string            `json:"name"`
	DepartmentCode   string            `json:"department_code,omitempty"`
	CountyCode       string            `json:"county_code,omitempty"`
	Rules            batch.Rules       `json:"rules"`
	Batches          []PlannedBatch    `json:"batches"`
	InspectionStart  workday.Date      `json:"inspection_start"`
	InspectionEnd    workday.Date      `json:"inspection_end"`
	JointDepartments []string          `json:"joint_departments"`
	Policy           *lifecycle.Policy `json:"policy,omitempty"`
	Notes            string            `json:"notes"`
}

// PlannedBatch is one planned draw. DrawAt is a date (drawn at 09:00 China
// time) or an RFC 3339 time; stored as RFC 3339 in China time.
type PlannedBatch struct {
	Seq           int           `json:"seq"`
	Name          string        `json:"name"`
	DrawAt        string        `json:"draw_at"`
	InspectionEnd *workday.Date `json:"inspection_end,omitempty"` // default: the plan's
}

// Time is the moment of the draw.
func (b PlannedBatch) Time() time.Time {
	t, _ := parseDrawAt(b.DrawAt)
	return t
}

// Plan is a stored plan.
type Plan struct {
	Spec
	State       State          `json:"state"`
	CreatedBy   string         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	SubmittedAt *time.Time     `json:"submitted_at,omitempty"`
	ApprovedBy  string         `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time     `json:"approved_at,omitempty"`
	PublishedAt *time.Time     `json:"published_at,omitempty"`
	StartedAt   *time.Time     `json:"started_at,omitempty"`
	Started     []StartedBatch `json:"started_batches"`
	Version     int64          `json:"version"`
}

// StartedBatch is a batch the plan started.
type StartedBatch struct {
	Seq       int       `json:"seq" db:"seq"`
	BatchID   string    `json:"batch_id" db:"batch_id"`
	Extra     bool      `json:"extra" db:"extra"`
	StartedBy string    `json:"started_by" db:"started_by"`
	StartedAt time.Time `json:"started_at" db:"started_at"`
	State     string    `json:"batch_state" db:"state"`
}

// BatchID is the ID of a plan's seq-th batch (planned or extra).
func BatchID(planID string, seq int) string { return fmt.Sprintf("%s-%d", planID, seq) }

// InspectionEndOf is the end of the inspection period of the seq-th
// planned batch, or of the plan for an extra batch.
func (p Plan) InspectionEndOf(seq int) workday.Date {
	for _, b := range p.Batches {
		if b.Seq == seq && b.InspectionEnd != nil {
			return *b.InspectionEnd
		}
	}
	return p.InspectionEnd
}

// Service stores plans.
type Service struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewService returns a Service on db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db, now: time.Now} }

// WithClock makes s read the time from now and returns s.
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

// Create stores a new draft plan. The same ID again is a conflict.
func (s *Service) Create(ctx context.Context, d Spec, actor string) (Plan, error) {
	if err := s.validate(ctx, &d); err != nil {
		return Plan{}, err
	}
	rules, batches, policy := marshalParts(d)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO plans (id, year, name, department_code, county_code, state, rules, batches,
			                   inspection_start, inspection_end, joint_departments, policy, notes, created_by)
			VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), 'draft', $6, $7, $8, $9, $10, $11, $12, $13)`,
			d.ID, d.Year, d.Name, d.DepartmentCode, d.CountyCode, rules, batches,
			d.InspectionStart.String(), d.InspectionEnd.String(), pq.Array(d.JointDepartments), policy, d.Notes, actor)
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "plan.create", Entity: "plan", EntityID: d.ID, Payload: d})
		return err
	})
	var pqe *pq.Error
	if errors.As(err, &pqe) && pqe.Code == "23505" {
		return Plan{}, fault.New(fault.Conflict, "plan %s already exists", d.ID)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("store plan %s: %w", d.ID, err)
	}
	return s.Get(ctx, d.ID)
}

// Update replaces a draft plan whose version is version.
func (s *Service) Update(ctx context.Context, d Spec, version int64) (Plan, error) {
	if err := s.validate(ctx, &d); err != nil {
		return Plan{}, err
	}
	rules, batches, policy := marshalParts(d)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := lockPlan(ctx, tx, d.ID)
		if err != nil {
			return err
		}
		if cur.Year != d.Year {
			return fault.Field("year", "a plan's year cannot change (%d)", cur.Year)
		}
		if cur.State != Draft {
			return fault.New(fault.Conflict, "plan %s is %s; only a draft can be changed", d.ID, cur.State)
		}
		if version != 0 && cur.Version != version {
			return fault.New(fault.PreconditionFailed, "plan %s is at version %d, not %d: read it again", d.ID, cur.Version, version)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE plans SET name = $2, department_code = nullif($3, ''), county_code = nullif($4, ''), rules = $5,
				batches = $6, inspection_start = $7, inspection_end = $8, joint_departments = $9, policy = $10,
				notes = $11, updated_at = now(), row_version = row_version + 1
			WHERE id = $1`, d.ID, d.Name, d.DepartmentCode, d.CountyCode, rules, batches,
			d.InspectionStart.String(), d.InspectionEnd.String(), pq.Array(d.JointDepartments), policy, d.Notes)
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Get(ctx, d.ID)
}

func marshalParts(d Spec) (rules, batches []byte, policy any) {
	rules, _ = json.Marshal(d.Rules)
	batches, _ = json.Marshal(d.Batches)
	if d.Policy != nil {
		policy, _ = json.Marshal(d.Policy)
	}
	return rules, batches, policy
}

// Transition applies action to plan id by actor. version, when not 0, must
// be the plan's version. Approving an approved plan is a conflict: the
// second approval changes nothing.
func (s *Service) Transition(ctx context.Context, id string, action Action, actor string, version int64) (Plan, error) {
	t, ok := transitions[action]
	if !ok {
		return Plan{}, fault.New(fault.NotFound, "no plan action %q", action)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := lockPlan(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.State != t.from {
			if cur.State == t.to {
				return fault.New(fault.Conflict, "plan %s is already %s", id, cur.State)
			}
			return fault.New(fault.Conflict, "plan %s is %s; %s needs a %s plan", id, cur.State, action, t.from)
		}
		if version != 0 && cur.Version != version {
			return fault.New(fault.PreconditionFailed, "plan %s is at version %d, not %d: read it again", id, cur.Version, version)
		}
		if action == Approve || action == Publish {
			// A plan whose first draw has passed cannot be approved as it is.
			if err := checkFuture(cur.Batches, s.now()); err != nil {
				return err
			}
		}
		set := map[Action]string{
			Submit:  "submitted_at = now()",
			Return:  "submitted_at = NULL",
			Approve: "approved_by = $3, approved_at = now()",
			Publish: "published_at = now()",
		}[action]
		args := []any{id, string(t.to)}
		if action == Approve {
			args = append(args, actor)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE plans SET state = $2, `+set+`, updated_at = now(), row_version = row_version + 1 WHERE id = $1`, args...); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "plan." + string(action), Entity: "plan", EntityID: id,
			Payload: map[string]any{"from": cur.State, "to": t.to}})
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Get(ctx, id)
}

func checkFuture(bs []PlannedBatch, now time.Time) error {
	var ps []fault.Problem
	for i, b := range bs {
		if !b.Time().After(now) {
			ps = append(ps, fault.Problem{Field: fmt.Sprintf("batches[%d].draw_at", i), Message: fmt.Sprintf("%s has passed; return the plan to draft and change it", b.DrawAt)})
		}
	}
	return fault.Invalids("the plan's draw dates have passed", ps)
}

// MarkStarted records that the plan's workflow was started; only an
// approved or published plan may start.
func (s *Service) MarkStarted(ctx context.Context, id string) (Plan, error) {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := lockPlan(ctx, tx, id)
		if err != nil {
			return err
		}
		if !Startable(cur.State) {
			return fault.New(fault.Conflict, "plan %s is %s; only an approved or published plan can be started", id, cur.State)
		}
		_, err = tx.ExecContext(ctx, `UPDATE plans SET started_at = coalesce(started_at, now()) WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Get(ctx, id)
}

// RecordBatch records a batch the plan started; recording it again changes
// nothing.
func (s *Service) RecordBatch(ctx context.Context, planID string, seq int, batchID string, extra bool, actor string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO plan_batches (plan_id, seq, batch_id, extra, started_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (plan_id, seq) DO NOTHING`, planID, seq, batchID, extra, actor)
	if err != nil {
		return fmt.Errorf("record batch %s of plan %s: %w", batchID, planID, err)
	}
	return nil
}

type planRow struct {
	ID               string         `db:"id"`
	Year             int            `db:"year"`
	Name             string         `db:"name"`
	DepartmentCode   sql.NullString `db:"department_code"`
	CountyCode       sql.NullString `db:"county_code"`
	State            State          `db:"state"`
	Rules            []byte         `db:"rules"`
	Batches          []byte         `db:"batches"`
	InspectionStart  string         `db:"inspection_start"`
	InspectionEnd    string         `db:"inspection_end"`
	JointDepartments pq.StringArray `db:"joint_departments"`
	Policy           []byte         `db:"policy"`
	Notes            string         `db:"notes"`
	CreatedBy        string         `db:"created_by"`
	CreatedAt        time.Time      `db:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at"`
	SubmittedAt      sql.NullTime   `db:"submitted_at"`
	ApprovedBy       sql.NullString `db:"approved_by"`
	ApprovedAt       sql.NullTime   `db:"approved_at"`
	PublishedAt      sql.NullTime   `db:"published_at"`
	StartedAt        sql.NullTime   `db:"started_at"`
	Version          int64          `db:"row_version"`
}

const planColumns = `id, year, name, department_code, county_code, state, rules, batches, inspection_start::text,
	inspection_end::text, joint_departments, policy, notes, created_by, created_at, updated_at, submitted_at,
	approved_by, approved_at, published_at, started_at, row_version`

func (r planRow) plan() (Plan, error) {
	p := Plan{State: r.State, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		ApprovedBy: r.ApprovedBy.String, Version: r.Version, Started: []StartedBatch{}}
	p.ID, p.Year, p.Name, p.Notes = r.ID, r.Year, r.Name, r.Notes
	p.DepartmentCode, p.CountyCode = r.DepartmentCode.String, r.CountyCode.String
	p.JointDepartments = []string(r.JointDepartments)
	if p.JointDepartments == nil {
		p.JointDepartments = []string{}
	}
	if err := json.Unmarshal(r.Rules, &p.Rules); err != nil {
		return p, fmt.Errorf("rules of plan %s: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Batches, &p.Batches); err != nil {
		return p, fmt.Errorf("batches of plan %s: %w", r.ID, err)
	}
	if r.Policy != nil {
		p.Policy = new(lifecycle.Policy)
		if err := json.Unmarshal(r.Policy, p.Policy); err != nil {
			return p, fmt.Errorf("policy of plan %s: %w", r.ID, err)
		}
	}
	var err error
	if p.InspectionStart, err = workday.ParseDate(r.InspectionStart); err != nil {
		return p, err
	}
	if p.InspectionEnd, err = workday.ParseDate(r.InspectionEnd); err != nil {
		return p, err
	}
	for src, dst := range map[*sql.NullTime]**time.Time{&r.SubmittedAt: &p.SubmittedAt, &r.ApprovedAt: &p.ApprovedAt, &r.PublishedAt: &p.PublishedAt, &r.StartedAt: &p.StartedAt} {
		if src.Valid {
			t := src.Time
			*dst = &t
		}
	}
	return p, nil
}

func lockPlan(ctx context.Context, tx *sqlx.Tx, id string) (Plan, error) {
	var r planRow
	err := tx.GetContext(ctx, &r, `SELECT `+planColumns+` FROM plans WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, fault.New(fault.NotFound, "no plan %s", id)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("read plan %s: %w", id, err)
	}
	return r.plan()
}

// Get returns plan id with the batches it started.
func (s *Service) Get(ctx context.Context, id string) (Plan, error) {
	var r planRow
	err := s.db.GetContext(ctx, &r, `SELECT `+planColumns+` FROM plans WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, fault.New(fault.NotFound, "no plan %s", id)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("read plan %s: %w", id, err)
	}
	p, err := r.plan()
	if err != nil {
		return p, err
	}
	err = s.db.SelectContext(ctx, &p.Started, `
		SELECT pb.seq, pb.batch_id, pb.extra, pb.started_by, pb.started_at, b.state
		FROM plan_batches pb JOIN batches b ON b.id = pb.batch_id WHERE pb.plan_id = $1 ORDER BY pb.seq`, id)
	if err != nil {
		return p, fmt.Errorf("read batches of plan %s: %w", id, err)
	}
	return p, nil
}

// Filter selects plans: a zero field does not narrow.
type Filter struct {
	Year       int
	State      State
	Department string
	County     string
}

// List returns the plans f selects, by owner and ID.
func (s *Service) List(ctx context.Context, f Filter) ([]Plan, error) {
	var rows []planRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+planColumns+` FROM plans
		WHERE ($1 = 0 OR year = $1) AND ($2 = '' OR state = $2)
		  AND ($3 = '' OR department_code = $3) AND ($4 = '' OR county_code = $4)
		ORDER BY year DESC, county_code NULLS FIRST, department_code, id`, f.Year, string(f.State), f.Department, f.County)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := make([]Plan, 0, len(rows))
	for _, r := range rows {
		p, err := r.plan()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// City is the city plan of a year: the departments' and counties' plans
// aggregated, with the totals people read first.
type City struct {
	Year        int      `json:"year"`
	Departments []Plan   `json:"departments"`
	Counties    []Plan   `json:"counties"`
	Totals      Totals   `json:"totals"`
	Items       []string `json:"items"` // the item codes any plan checks
}

// Totals count a city plan.
type Totals struct {
	Plans   int `json:"plans"`
	Batches int `json:"batches"`
}

// CityPlan aggregates the plans of year in the given states (all when
// none are given). The public reads the published ones.
func (s *Service) CityPlan(ctx context.Context, year int, states ...State) (City, error) {
	all, err := s.List(ctx, Filter{Year: year})
	if err != nil {
		return City{}, err
	}
	c := City{Year: year, Departments: []Plan{}, Counties: []Plan{}, Items: []string{}}
	items := map[string]bool{}
	for _, p := range all {
		if len(states) > 0 && !contains(states, p.State) {
			continue
		}
		if p.CountyCode != "" {
			c.Counties = append(c.Counties, p)
		} else {
			c.Departments = append(c.Departments, p)
		}
		c.Totals.Plans++
		c.Totals.Batches += len(p.Batches)
		for _, it := range p.Rules.Items {
			items[it.Code] = true
		}
	}
	for code := range items {
		c.Items = append(c.Items, code)
	}
	sort.Strings(c.Items)
	return c, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *Service) inTx(ctx context.Context, f func(*sqlx.Tx) error) error {
	return pgtx.Run(ctx, s.db, nil, f)
}

func parseDrawAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := workday.ParseDate(s); err == nil {
		y, m, dd := d.Start().In(china).Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, china).Add(DefaultDrawTime), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.In(china), nil
}
