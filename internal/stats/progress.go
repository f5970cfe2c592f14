package stats

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

// Progress is a batch's progress by county, read from the task rows (the
// system of record).
type Progress struct {
	BatchID string `json:"batch_id"`
	State   string `json:"state"`
	// Phase is the batch workflow's phase that the stored state implies.
	Phase    string           `json:"phase"`
	Counties []CountyProgress `json:"counties"`
	Total    CountyProgress   `json:"total"`
}

// CountyProgress counts a county's objects by stage, and those with a
// passed deadline by duty; the county workflows report the same
// (lifecycle.CountyProgress), with their phase.
type CountyProgress struct {
	County string `json:"county"`
	// CountyName is the county's name beside its code (合计 for the total).
	CountyName string                   `json:"county_name"`
	Phase      string                   `json:"phase"`
	Objects    int                      `json:"objects"`
	Stages     map[inspection.Stage]int `json:"stages"`
	// Overdue counts objects with a passed deadline, by duty.
	Overdue map[string]int `json:"overdue"`
	Done    bool           `json:"done"`
}

// Progress reads batchID's counters (migration 00104: drawn objects by
// county and stage, overdue duties), only those of onlyCounty when it is
// set: one index lookup, whatever the batch size. An unknown batch is
// fault.NotFound.
func (s *Service) Progress(ctx context.Context, batchID, onlyCounty string) (Progress, error) {
	p := Progress{BatchID: batchID, Counties: []CountyProgress{}}
	stmt, err := s.stmts.Prepared(ctx, progressQuery)
	if err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	rows, err := stmt.QueryContext(ctx, batchID, onlyCounty)
	if err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	defer rows.Close()
	var counts []count
	names := map[string]string{}
	found := false
	for rows.Next() {
		var county, name, what sql.NullString
		var n sql.NullInt64
		if err := rows.Scan(&p.State, &county, &name, &what, &n); err != nil {
			return p, fmt.Errorf("progress of %s: %w", batchID, err)
		}
		found = true
		if what.Valid {
			counts = append(counts, count{county.String, what.String, int(n.Int64)})
			names[county.String] = name.String
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	if !found {
		return p, fault.New(fault.NotFound, "batch %s does not exist", batchID)
	}
	p.Counties, p.Total = tallyCounts(counts)
	p.Phase = BatchPhase(p.State)
	p.Total.Phase, p.Total.Done = p.Phase, p.Phase == "archived"
	p.Total.CountyName = "合计"
	for i := range p.Counties {
		p.Counties[i].CountyName = names[p.Counties[i].County]
	}
	return p, nil
}

// progressQuery reads a batch's state and the counters of one county ($2)
// or all (”), with the counties' names.
const progressQuery = `
	SELECT b.state, c.county_code, r.name, c.what, c.n
	FROM batches b LEFT JOIN progress_counters c
	  ON c.batch_id = b.id AND ($2 = '' OR c.county_code = $2) AND c.n <> 0 AND c.what NOT LIKE 'ledger:%' AND c.what NOT LIKE 'tasks:%'
	LEFT JOIN regions r ON r.code = c.county_code
	WHERE b.id = $1`

// recountQuery counts a batch's progress from the rows themselves, as the
// counters must: (county, stage or "overdue:"+duty or "tasks:overdue" or
// "ledger:"+duty, n).
const recountQuery = `
	SELECT coalesce(b.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
	FROM batch_objects b LEFT JOIN tasks t ON t.batch_id = b.batch_id AND t.object_key = b.object_key
	WHERE b.batch_id = $1
	GROUP BY 1, 2
	UNION ALL
	SELECT county_code, 'overdue:' || duty, count(*)
	FROM tasks, unnest(overdue) AS duty
	WHERE batch_id = $1
	GROUP BY 1, 2
	UNION ALL
	SELECT county_code, 'tasks:overdue', count(*)
	FROM tasks WHERE batch_id = $1 AND cardinality(overdue) > 0
	GROUP BY 1, 2
	UNION ALL
	SELECT county_code, 'ledger:' || duty, count(*)
	FROM accountability WHERE batch_id = $1
	GROUP BY 1, 2`

// CheckCounters recounts batchID from its rows and returns an error naming
// every counter that differs from the recount (none: nil).
func (s *Service) CheckCounters(ctx context.Context, batchID string) error {
	read := func(q string) (map[[2]string]int, error) {
		m := map[[2]string]int{}
		rows, err := s.db.QueryContext(ctx, q, batchID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var k [2]string
			var n int
			if err := rows.Scan(&k[0], &k[1], &n); err != nil {
				return nil, err
			}
			if n != 0 {
				m[k] += n
			}
		}
		return m, rows.Err()
	}
	want, err := read(recountQuery)
	if err != nil {
		return fmt.Errorf("recount %s: %w", batchID, err)
	}
	got, err := read(`SELECT county_code, what, n FROM progress_counters WHERE batch_id = $1`)
	if err != nil {
		return fmt.Errorf("counters of %s: %w", batchID, err)
	}
	var diffs []string
	for _, k := range slices.SortedFunc(maps.Keys(mergeKeys(want, got)), func(a, b [2]string) int {
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	}) {
		if want[k] != got[k] {
			diffs = append(diffs, fmt.Sprintf("%s/%s: counter %d, recount %d", k[0], k[1], got[k], want[k]))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("counters of %s differ from a recount: %s", batchID, strings.Join(diffs, "; "))
	}
	return nil
}

func mergeKeys(a, b map[[2]string]int) map[[2]string]bool {
	m := map[[2]string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// count is one counter: a county's objects at a stage, or with a duty
// overdue ("overdue:"+duty).
type count struct {
	county, what string
	n            int
}

// tally reads rows of (county, stage or "overdue:"+duty, count) into each
// county's progress, in county order, and their total.
func tally(rows *sql.Rows) ([]CountyProgress, CountyProgress, error) {
	defer rows.Close()
	var counts []count
	for rows.Next() {
		var c count
		if err := rows.Scan(&c.county, &c.what, &c.n); err != nil {
			return nil, CountyProgress{}, err
		}
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, CountyProgress{}, err
	}
	counties, total := tallyCounts(counts)
	return counties, total, nil
}

// tallyCounts sums counts into each county's progress, in county order,
// and their total.
func tallyCounts(counts []count) ([]CountyProgress, CountyProgress) {
	byCounty := map[string]*CountyProgress{}
	total := CountyProgress{County: "total", Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
	for _, c := range counts {
		cp := byCounty[c.county]
		if cp == nil {
			cp = &CountyProgress{County: c.county, Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
			byCounty[c.county] = cp
		}
		if duty, ok := strings.CutPrefix(c.what, "overdue:"); ok {
			cp.Overdue[duty] += c.n
			total.Overdue[duty] += c.n
			continue
		}
		cp.Stages[inspection.Stage(c.what)] += c.n
		cp.Objects += c.n
		total.Stages[inspection.Stage(c.what)] += c.n
		total.Objects += c.n
	}
	counties := []CountyProgress{}
	for _, code := range slices.Sorted(maps.Keys(byCounty)) {
		cp := byCounty[code]
		cp.Phase = CountyPhase(*cp)
		cp.Done = cp.Phase == "done"
		counties = append(counties, *cp)
	}
	return counties, total
}

// BatchPhase is the phase of the batch workflow (lifecycle.BatchProgress)
// that a stored batch state implies: a state is written when a step ends,
// so the workflow is already in the next step's phase.
func BatchPhase(state string) string {
	switch state {
	case "committed":
		return "freezing"
	case "frozen":
		return "awaiting_beacon"
	case "drawn":
		return "drawing" // drawn, the lock follows in the same step
	case "locked", "in_progress":
		return "counties"
	case "published":
		return "archiving"
	case "archived", "cancelled":
		return state
	}
	return ""
}

// CountyPhase is the phase of a county workflow that its objects' stages
// imply: objects without a task wait for the match; a county whose objects
// are all closed is done.
func CountyPhase(c CountyProgress) string {
	switch {
	case c.Objects == 0:
		return "starting"
	case c.Stages[inspection.Closed]+c.Stages[inspection.SetAside] == c.Objects:
		return "done"
	case c.Stages[inspection.AwaitingMatch] > 0:
		return "awaiting_match"
	}
	return "tracking"
}

// Lapse is an accountability ledger entry (失职照单问责).
type Lapse struct {
	BatchID         string  `json:"batch_id" db:"batch_id"`
	ObjectKey       string  `json:"object_key" db:"object_key"`
	County          string  `json:"county" db:"county_code"`
	CountyName      string  `json:"county_name" db:"county_name"`
	Duty            string  `json:"duty" db:"duty"`
	DutyName        string  `json:"duty_name" db:"-"`
	Due             string  `json:"due" db:"due"`
	DetectedAt      string  `json:"detected_at" db:"detected_at"`
	ResolvedOn      *string `json:"resolved_on" db:"resolved_on"`
	WorkingDaysLate *int    `json:"working_days_late" db:"working_days_late"`
	ID              int64   `json:"id" db:"id"`
}

// LedgerFilter narrows the ledger; empty fields match everything.
type LedgerFilter struct {
	BatchID, County, Duty string
}

// Lapses lists ledger entries with IDs above afterID, by ID, at most limit.
func (s *Service) Lapses(ctx context.Context, f LedgerFilter, afterID int64, limit int) ([]Lapse, error) {
	list := []Lapse{}
	err := s.db.SelectContext(ctx, &list, `
		SELECT id, batch_id, object_key, county_code, coalesce((SELECT name FROM regions WHERE code = county_code), '') AS county_name,
		       duty, due::text AS due, detected_at::text AS detected_at, resolved_on::text AS resolved_on, working_days_late
		FROM accountability
		WHERE id > $1 AND ($2 = '' OR batch_id = $2) AND ($3 = '' OR county_code = $3) AND ($4 = '' OR duty = $4)
		ORDER BY id LIMIT $5`, afterID, f.BatchID, f.County, f.Duty, limit)
	if err != nil {
		return nil, fmt.Errorf("accountability ledger: %w", err)
	}
	for i := range list {
		list[i].DutyName = inspection.DutyNames[list[i].Duty]
	}
	return list, nil
}
