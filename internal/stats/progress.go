package stats

import (
	"context"
	"database/sql"
	"errors"
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
// (workflows.CountyProgress), with their phase.
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

// Progress counts batchID's drawn objects by county and stage, only those
// of onlyCounty when it is set. An unknown batch is fault.NotFound.
func (s *Service) Progress(ctx context.Context, batchID, onlyCounty string) (Progress, error) {
	p := Progress{BatchID: batchID, Counties: []CountyProgress{}}
	if err := s.db.GetContext(ctx, &p.State, `SELECT state FROM batches WHERE id = $1`, batchID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, fault.New(fault.NotFound, "batch %s does not exist", batchID)
		}
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	// Drawn objects without a task yet are waiting for their county's match.
	rows, err := s.db.QueryContext(ctx, `
		SELECT coalesce(b.county_code, ''), coalesce(t.stage, 'awaiting_match'), count(*)
		FROM batch_objects b LEFT JOIN tasks t ON t.batch_id = b.batch_id AND t.object_key = b.object_key
		WHERE b.batch_id = $1 AND ($2 = '' OR b.county_code = $2)
		GROUP BY 1, 2
		UNION ALL
		SELECT county_code, 'overdue:' || duty, count(*)
		FROM tasks, unnest(overdue) AS duty
		WHERE batch_id = $1 AND ($2 = '' OR county_code = $2)
		GROUP BY 1, 2`, batchID, onlyCounty)
	if err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	if p.Counties, p.Total, err = tally(rows); err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	p.Phase = BatchPhase(p.State)
	p.Total.Phase, p.Total.Done = p.Phase, p.Phase == "archived"
	p.Total.CountyName = "合计"
	names, err := s.regionNames(ctx)
	if err != nil {
		return p, fmt.Errorf("progress of %s: %w", batchID, err)
	}
	for i := range p.Counties {
		p.Counties[i].CountyName = names[p.Counties[i].County]
	}
	return p, nil
}

// tally reads rows of (county, stage or "overdue:"+duty, count) into each
// county's progress, in county order, and their total.
func tally(rows *sql.Rows) ([]CountyProgress, CountyProgress, error) {
	defer rows.Close()
	byCounty := map[string]*CountyProgress{}
	total := CountyProgress{County: "total", Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
	for rows.Next() {
		var county, what string
		var n int
		if err := rows.Scan(&county, &what, &n); err != nil {
			return nil, total, err
		}
		cp := byCounty[county]
		if cp == nil {
			cp = &CountyProgress{County: county, Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
			byCounty[county] = cp
		}
		if duty, ok := strings.CutPrefix(what, "overdue:"); ok {
			cp.Overdue[duty] += n
			total.Overdue[duty] += n
			continue
		}
		cp.Stages[inspection.Stage(what)] += n
		cp.Objects += n
		total.Stages[inspection.Stage(what)] += n
		total.Objects += n
	}
	if err := rows.Err(); err != nil {
		return nil, total, err
	}
	counties := []CountyProgress{}
	for _, code := range slices.Sorted(maps.Keys(byCounty)) {
		cp := byCounty[code]
		cp.Phase = CountyPhase(*cp)
		cp.Done = cp.Phase == "done"
		counties = append(counties, *cp)
	}
	return counties, total, nil
}

// BatchPhase is the phase of the batch workflow (workflows.BatchProgress)
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

// regionNames maps every region code to its name (a few dozen rows).
func (s *Service) regionNames(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT code, name FROM regions`); err != nil {
		return nil, fmt.Errorf("region names: %w", err)
	}
	names := make(map[string]string, len(rows))
	for _, r := range rows {
		names[r.Code] = r.Name
	}
	return names, nil
}
