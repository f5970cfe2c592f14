// Package stats computes the year-end figures of the annual assessment
// (考核) per county and per department from the tracking tables (tasks,
// results, follow_ups, publications, accountability), with the
// accountability ledger rows behind every figure below 100%.
//
// A task belongs to a year by its batch's commitment (China time) or, for a
// targeted check, by its case's year. A batch's department is that of the
// plan that started it ("" for a batch outside any plan); a case's is the
// one it names.
package stats

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
)

// Figures are one unit's year.
type Figures struct {
	Scope string `json:"scope"` // county or department
	Code  string `json:"code"`
	Name  string `json:"name"`
	// PlannedBatches counts the batches the unit's published plans of the
	// year name; StartedBatches those the plans started.
	PlannedBatches int `json:"planned_batches"`
	StartedBatches int `json:"started_batches"`
	// Drawn counts the objects drawn; Targeted the targeted checks (案件).
	Drawn    int `json:"drawn" db:"drawn"`
	Targeted int `json:"targeted" db:"targeted"`
	// Inspected counts tasks whose inspection was reported.
	Inspected int `json:"inspected" db:"inspected"`
	// ResultsDue counts tasks with a result deadline; ResultsOnTime those
	// with no result_entry lapse in the ledger.
	ResultsDue      int      `json:"results_due" db:"results_due"`
	ResultsOnTime   int      `json:"results_on_time" db:"results_on_time"`
	ResultOnTimePct *float64 `json:"result_on_time_pct"`
	// Overdue counts ledger entries (every duty); OverdueWorkingDays adds
	// up the working days late of those resolved, OverdueOpen counts those
	// still unmet.
	Overdue            int `json:"overdue" db:"overdue"`
	OverdueWorkingDays int `json:"overdue_working_days" db:"overdue_working_days"`
	OverdueOpen        int `json:"overdue_open" db:"overdue_open"`
	ProblemsFound      int `json:"problems_found" db:"problems_found"`
	FollowUpsClosed    int `json:"follow_ups_closed" db:"follow_ups_closed"`
	CriminalTransfers  int `json:"criminal_transfers" db:"criminal_transfers"`
	// PublicationsDue counts tasks with a publication deadline;
	// PublishedInTime those with no publication lapse.
	PublicationsDue    int      `json:"publications_due" db:"publications_due"`
	PublishedInTime    int      `json:"published_in_time" db:"published_in_time"`
	PublishedInTimePct *float64 `json:"published_in_time_pct"`
	// Published counts results made public (结果公示).
	Published int `json:"published" db:"published"`
	// FollowUpActions counts the follow-up actions entered, by action code
	// (inspection.FollowUpActions).
	FollowUpActions   map[string]int `json:"follow_up_actions"`
	LedgerResultEntry []int64        `json:"ledger_result_entry"`
	LedgerPublication []int64        `json:"ledger_publication"`
	LedgerOther       []int64        `json:"ledger_other"`
}

// LedgerRow is one accountability entry behind a figure.
type LedgerRow struct {
	ID              int64     `json:"id" db:"id"`
	BatchID         string    `json:"batch_id" db:"batch_id"`
	ObjectKey       string    `json:"object_key" db:"object_key"`
	County          string    `json:"county_code" db:"county_code"`
	Department      string    `json:"department_code" db:"department_code"`
	Duty            string    `json:"duty" db:"duty"`
	Due             string    `json:"due" db:"due"`
	DetectedAt      time.Time `json:"detected_at" db:"detected_at"`
	ResolvedOn      *string   `json:"resolved_on" db:"resolved_on"`
	WorkingDaysLate *int      `json:"working_days_late" db:"working_days_late"`
	Figures         []string  `json:"figures"` // which figures it lowers
}

// Report is a year's statistics.
type Report struct {
	Year        int         `json:"year"`
	GeneratedAt time.Time   `json:"generated_at"`
	Total       Figures     `json:"total"`
	Counties    []Figures   `json:"counties"`
	Departments []Figures   `json:"departments"`
	Ledger      []LedgerRow `json:"ledger"`
}

// Service computes reports.
type Service struct {
	db *sqlx.DB
	// stmts holds the progress read, prepared once: it is the hot path.
	stmts *pgtx.Statements
}

// NewService returns a Service on db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db, stmts: pgtx.NewStatements(db)} }

// scoped is the year's tasks with their unit: one CTE every figure reads.
const scoped = `
WITH yb AS (
	SELECT b.id AS batch_id, coalesce(p.department_code, '') AS department_code
	FROM batches b LEFT JOIN plan_batches pb ON pb.batch_id = b.id LEFT JOIN plans p ON p.id = pb.plan_id
	WHERE extract(year FROM b.committed_at AT TIME ZONE 'Asia/Shanghai') = $1
	UNION ALL
	SELECT 'case-' || c.id, coalesce(c.department_code, '') FROM cases c WHERE c.year = $1
), yt AS (
	SELECT t.*, yb.department_code, t.batch_id LIKE 'case-%' AS targeted
	FROM tasks t JOIN yb ON yb.batch_id = t.batch_id
)`

// Year computes the statistics of year.
func (s *Service) Year(ctx context.Context, year int) (Report, error) {
	rep := Report{Year: year, GeneratedAt: time.Now(), Counties: []Figures{}, Departments: []Figures{}, Ledger: []LedgerRow{}}
	type unitRow struct {
		Figures
		County     string `db:"county_code"`
		Department string `db:"department_code"`
	}
	var rows []unitRow
	// One row per (county, department): counties and departments are sums
	// of these.
	err := s.db.SelectContext(ctx, &rows, scoped+`
	, drawn AS (
		SELECT coalesce(bo.county_code, '') AS county_code, yb.department_code, count(*) AS n
		FROM batch_objects bo JOIN yb ON yb.batch_id = bo.batch_id GROUP BY 1, 2
	), work AS (
		SELECT yt.county_code, yt.department_code,
			count(*) FILTER (WHERE yt.targeted) AS targeted,
			count(*) FILTER (WHERE yt.inspected_on IS NOT NULL) AS inspected,
			count(*) FILTER (WHERE yt.result_due IS NOT NULL) AS results_due,
			count(*) FILTER (WHERE yt.result_due IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accountability a
				WHERE a.batch_id = yt.batch_id AND a.object_key = yt.object_key AND a.duty = 'result_entry')) AS results_on_time,
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM results r WHERE r.batch_id = yt.batch_id AND r.object_key = yt.object_key
				AND r.review = 'approved' AND r.problems_found)) AS problems_found,
			count(*) FILTER (WHERE yt.stage = 'closed' AND EXISTS (SELECT 1 FROM follow_ups f WHERE f.batch_id = yt.batch_id
				AND f.object_key = yt.object_key AND f.entered_at IS NOT NULL)) AS follow_ups_closed,
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM follow_ups f WHERE f.batch_id = yt.batch_id AND f.object_key = yt.object_key
				AND 'judicial_transfer' = ANY (f.actions))) AS criminal_transfers,
			count(*) FILTER (WHERE yt.publication_due IS NOT NULL) AS publications_due,
			count(*) FILTER (WHERE yt.publication_due IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accountability a
				WHERE a.batch_id = yt.batch_id AND a.object_key = yt.object_key AND a.duty = 'publication')) AS published_in_time,
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM publications p WHERE p.batch_id = yt.batch_id AND p.object_key = yt.object_key)) AS published
		FROM yt GROUP BY 1, 2
	), ledger AS (
		SELECT a.county_code, yb.department_code, count(*) AS overdue,
			coalesce(sum(a.working_days_late), 0) AS overdue_working_days,
			count(*) FILTER (WHERE a.resolved_on IS NULL) AS overdue_open
		FROM accountability a JOIN yb ON yb.batch_id = a.batch_id GROUP BY 1, 2
	), units AS (
		SELECT county_code, department_code FROM drawn UNION SELECT county_code, department_code FROM work
		UNION SELECT county_code, department_code FROM ledger
	)
	SELECT u.county_code, u.department_code, coalesce(d.n, 0) AS drawn,
		coalesce(w.targeted, 0) AS targeted, coalesce(w.inspected, 0) AS inspected,
		coalesce(w.results_due, 0) AS results_due, coalesce(w.results_on_time, 0) AS results_on_time,
		coalesce(w.problems_found, 0) AS problems_found, coalesce(w.follow_ups_closed, 0) AS follow_ups_closed,
		coalesce(w.criminal_transfers, 0) AS criminal_transfers, coalesce(w.publications_due, 0) AS publications_due,
		coalesce(w.published_in_time, 0) AS published_in_time, coalesce(w.published, 0) AS published, coalesce(l.overdue, 0) AS overdue,
		coalesce(l.overdue_working_days, 0) AS overdue_working_days, coalesce(l.overdue_open, 0) AS overdue_open
	FROM units u
	LEFT JOIN drawn d ON d.county_code = u.county_code AND d.department_code = u.department_code
	LEFT JOIN work w ON w.county_code = u.county_code AND w.department_code = u.department_code
	LEFT JOIN ledger l ON l.county_code = u.county_code AND l.department_code = u.department_code`, year)
	if err != nil {
		return rep, fmt.Errorf("statistics of %d: %w", year, err)
	}
	if err := s.db.SelectContext(ctx, &rep.Ledger, scoped+`
	SELECT a.id, a.batch_id, a.object_key, a.county_code, yb.department_code, a.duty, a.due::text, a.detected_at,
		a.resolved_on::text, a.working_days_late
	FROM accountability a JOIN yb ON yb.batch_id = a.batch_id ORDER BY a.county_code, a.id`, year); err != nil {
		return rep, fmt.Errorf("ledger of %d: %w", year, err)
	}
	if rep.Ledger == nil {
		rep.Ledger = []LedgerRow{}
	}
	names, err := s.names(ctx)
	if err != nil {
		return rep, err
	}

	counties, departments := map[string]*Figures{}, map[string]*Figures{}
	rep.Total = Figures{Scope: "total", Name: "全市"}
	unit := func(m map[string]*Figures, scope, code string) *Figures {
		f := m[code]
		if f == nil {
			name := names[scope+":"+code]
			if code == "" && scope == "department" {
				name = "计划外批次"
			}
			f = &Figures{Scope: scope, Code: code, Name: name}
			m[code] = f
		}
		return f
	}
	for _, r := range rows {
		for _, f := range []*Figures{unit(counties, "county", r.County), unit(departments, "department", r.Department), &rep.Total} {
			f.add(r.Figures)
		}
	}
	// Follow-up actions, one count per action entered.
	var actions []struct {
		County     string `db:"county_code"`
		Department string `db:"department_code"`
		Action     string `db:"action"`
		N          int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &actions, scoped+`
	SELECT yt.county_code, yt.department_code, a AS action, count(*) AS n
	FROM yt JOIN follow_ups f ON f.batch_id = yt.batch_id AND f.object_key = yt.object_key, unnest(f.actions) AS a
	WHERE f.entered_at IS NOT NULL GROUP BY 1, 2, 3`, year); err != nil {
		return rep, fmt.Errorf("follow-up actions of %d: %w", year, err)
	}
	for _, a := range actions {
		for _, f := range []*Figures{unit(counties, "county", a.County), unit(departments, "department", a.Department), &rep.Total} {
			if f.FollowUpActions == nil {
				f.FollowUpActions = map[string]int{}
			}
			f.FollowUpActions[a.Action] += a.N
		}
	}
	// Planned and started batches belong to the plan's owner: a department
	// or a county.
	var planned []struct {
		County     string `db:"county_code"`
		Department string `db:"department_code"`
		Planned    int    `db:"planned"`
		Started    int    `db:"started"`
	}
	if err := s.db.SelectContext(ctx, &planned, `
	SELECT coalesce(p.county_code, '') AS county_code, coalesce(p.department_code, '') AS department_code,
		jsonb_array_length(p.batches) AS planned, (SELECT count(*) FROM plan_batches pb WHERE pb.plan_id = p.id) AS started
	FROM plans p WHERE p.year = $1 AND p.state = 'published'`, year); err != nil {
		return rep, fmt.Errorf("plans of %d: %w", year, err)
	}
	for _, p := range planned {
		owner := unit(departments, "department", p.Department)
		if p.County != "" {
			owner = unit(counties, "county", p.County)
		}
		for _, f := range []*Figures{owner, &rep.Total} {
			f.PlannedBatches += p.Planned
			f.StartedBatches += p.Started
		}
	}
	for i := range rep.Ledger {
		l := &rep.Ledger[i]
		l.Figures = []string{"overdue"}
		targets := []*Figures{unit(counties, "county", l.County), unit(departments, "department", l.Department), &rep.Total}
		for _, f := range targets {
			switch l.Duty {
			case "result_entry":
				f.LedgerResultEntry = append(f.LedgerResultEntry, l.ID)
			case "publication":
				f.LedgerPublication = append(f.LedgerPublication, l.ID)
			default:
				f.LedgerOther = append(f.LedgerOther, l.ID)
			}
		}
		switch l.Duty {
		case "result_entry":
			l.Figures = append(l.Figures, "result_on_time_pct")
		case "publication":
			l.Figures = append(l.Figures, "published_in_time_pct")
		}
	}
	rep.Total.finish()
	rep.Counties, rep.Departments = sorted(counties), sorted(departments)
	return rep, nil
}

func sorted(m map[string]*Figures) []Figures {
	list := make([]Figures, 0, len(m))
	for _, f := range m {
		f.finish()
		list = append(list, *f)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	return list
}

func (f *Figures) add(g Figures) {
	f.Drawn += g.Drawn
	f.Targeted += g.Targeted
	f.Inspected += g.Inspected
	f.ResultsDue += g.ResultsDue
	f.ResultsOnTime += g.ResultsOnTime
	f.Overdue += g.Overdue
	f.OverdueWorkingDays += g.OverdueWorkingDays
	f.OverdueOpen += g.OverdueOpen
	f.ProblemsFound += g.ProblemsFound
	f.FollowUpsClosed += g.FollowUpsClosed
	f.CriminalTransfers += g.CriminalTransfers
	f.PublicationsDue += g.PublicationsDue
	f.PublishedInTime += g.PublishedInTime
	f.Published += g.Published
}

func pct(part, whole int) *float64 {
	if whole == 0 {
		return nil
	}
	v := float64(int64(float64(part)*10000/float64(whole)+0.5)) / 100
	return &v
}

func (f *Figures) finish() {
	f.ResultOnTimePct = pct(f.ResultsOnTime, f.ResultsDue)
	f.PublishedInTimePct = pct(f.PublishedInTime, f.PublicationsDue)
	for _, l := range []*[]int64{&f.LedgerResultEntry, &f.LedgerPublication, &f.LedgerOther} {
		if *l == nil {
			*l = []int64{}
		}
	}
	if f.FollowUpActions == nil {
		f.FollowUpActions = map[string]int{}
	}
}

// csvHeader names the columns in Chinese, for people opening it in a
// spreadsheet; the codes follow in brackets.
var csvHeader = []string{"范围(scope)", "代码(code)", "名称(name)", "抽取对象数(drawn)", "定向检查数(targeted)",
	"已检查数(inspected)", "应录入结果数(results_due)", "按时录入结果数(results_on_time)", "结果按时录入率%(result_on_time_pct)",
	"逾期事项数(overdue)", "逾期工作日合计(overdue_working_days)", "未办结逾期数(overdue_open)", "发现问题数(problems_found)",
	"后续处置办结数(follow_ups_closed)", "移送司法机关数(criminal_transfers)", "应公示数(publications_due)",
	"按时公示数(published_in_time)", "按时公示率%(published_in_time_pct)", "问责台账编号(ledger_ids)"}

// WriteCSV writes the figures, total first, then counties and departments,
// as UTF-8 with a byte order mark (spreadsheets need it for Chinese).
func (r Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	all := append(append([]Figures{r.Total}, r.Counties...), r.Departments...)
	for _, f := range all {
		p := func(v *float64) string {
			if v == nil {
				return ""
			}
			return strconv.FormatFloat(*v, 'f', 2, 64)
		}
		ids := ""
		for i, id := range append(append(append([]int64{}, f.LedgerResultEntry...), f.LedgerPublication...), f.LedgerOther...) {
			if i > 0 {
				ids += " "
			}
			ids += strconv.FormatInt(id, 10)
		}
		n := strconv.Itoa
		_ = cw.Write([]string{f.Scope, f.Code, f.Name, n(f.Drawn), n(f.Targeted), n(f.Inspected), n(f.ResultsDue),
			n(f.ResultsOnTime), p(f.ResultOnTimePct), n(f.Overdue), n(f.OverdueWorkingDays), n(f.OverdueOpen),
			n(f.ProblemsFound), n(f.FollowUpsClosed), n(f.CriminalTransfers), n(f.PublicationsDue),
			n(f.PublishedInTime), p(f.PublishedInTimePct), ids})
	}
	cw.Flush()
	return cw.Error()
}

// WriteLedgerCSV writes the ledger rows behind the figures.
func (r Report) WriteLedgerCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"编号(id)", "批次(batch_id)", "对象(object_key)", "县(county_code)", "处室(department_code)",
		"职责(duty)", "期限(due)", "发现时间(detected_at)", "完成日期(resolved_on)", "逾期工作日(working_days_late)"})
	for _, l := range r.Ledger {
		resolved, late := "", ""
		if l.ResolvedOn != nil {
			resolved = *l.ResolvedOn
		}
		if l.WorkingDaysLate != nil {
			late = strconv.Itoa(*l.WorkingDaysLate)
		}
		_ = cw.Write([]string{strconv.FormatInt(l.ID, 10), l.BatchID, l.ObjectKey, l.County, l.Department, l.Duty, l.Due,
			l.DetectedAt.Format(time.RFC3339), resolved, late})
	}
	cw.Flush()
	return cw.Error()
}

// names maps "county:CODE" and "department:CODE" to the unit's name.
func (s *Service) names(ctx context.Context) (map[string]string, error) {
	names := map[string]string{}
	rows, err := s.db.QueryxContext(ctx, `SELECT 'county:' || code, name FROM regions UNION ALL SELECT 'department:' || code, name FROM departments`)
	if err != nil {
		return nil, fmt.Errorf("names of regions and departments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		names[k] = v
	}
	return names, rows.Err()
}
