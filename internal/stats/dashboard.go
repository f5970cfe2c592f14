package stats

import (
	"context"
	"fmt"
	"time"
)

// Dashboard is the coordinator's overview of a year (工作台): the year's
// batches with their state and counts, each county's objects by stage
// over those batches with its overdue counts by duty, and the latest
// ledger entries. Three queries, whatever the number of batches.
type Dashboard struct {
	Year     int              `json:"year"`
	Batches  []BatchLine      `json:"batches"`
	Counties []CountyProgress `json:"counties"`
	Total    CountyProgress   `json:"total"`
	Ledger   []Lapse          `json:"ledger"`
}

// BatchLine is one batch of the dashboard.
type BatchLine struct {
	ID        string    `json:"id" db:"id"`
	Name      string    `json:"name" db:"name"`
	State     string    `json:"state" db:"state"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	Drawn     int       `json:"drawn" db:"drawn"`
	Closed    int       `json:"closed" db:"closed"`
	Overdue   int       `json:"overdue" db:"overdue"`
}

// ledgerLines is how many of the latest ledger entries the dashboard lists.
const ledgerLines = 10

// Dashboard returns the overview of the batches committed in year (China
// time), only onlyCounty's objects and entries when it is set.
func (s *Service) Dashboard(ctx context.Context, year int, onlyCounty string) (Dashboard, error) {
	d := Dashboard{Year: year, Batches: []BatchLine{}, Counties: []CountyProgress{}, Ledger: []Lapse{}}
	from := time.Date(year, time.January, 1, 0, 0, 0, 0, china)
	to := from.AddDate(1, 0, 0)
	err := s.db.SelectContext(ctx, &d.Batches, `
		SELECT x.id, x.name, x.state, x.created_at,
		       coalesce(sum(c.n) FILTER (WHERE c.what NOT LIKE '%:%'), 0)::int AS drawn,
		       coalesce(sum(c.n) FILTER (WHERE c.what = 'closed'), 0)::int AS closed,
		       coalesce(sum(c.n) FILTER (WHERE c.what = 'tasks:overdue'), 0)::int AS overdue
		FROM batches x
		LEFT JOIN progress_counters c ON c.batch_id = x.id AND ($3 = '' OR c.county_code = $3)
		WHERE x.committed_at >= $1 AND x.committed_at < $2
		GROUP BY x.id ORDER BY x.committed_at DESC, x.id`, from, to, onlyCounty)
	if err != nil {
		return d, fmt.Errorf("dashboard %d: batches: %w", year, err)
	}
	rows, err := s.db.QueryContext(ctx, `
		WITH y AS (SELECT id FROM batches WHERE committed_at >= $1 AND committed_at < $2)
		SELECT c.county_code, c.what, sum(c.n)::int
		FROM progress_counters c JOIN y ON y.id = c.batch_id
		WHERE ($3 = '' OR c.county_code = $3) AND c.what NOT LIKE 'ledger:%' AND c.what NOT LIKE 'tasks:%'
		GROUP BY 1, 2 HAVING sum(c.n) <> 0`, from, to, onlyCounty)
	if err != nil {
		return d, fmt.Errorf("dashboard %d: counties: %w", year, err)
	}
	if d.Counties, d.Total, err = tally(rows); err != nil {
		return d, fmt.Errorf("dashboard %d: counties: %w", year, err)
	}
	err = s.db.SelectContext(ctx, &d.Ledger, `
		SELECT id, batch_id, object_key, county_code, duty, due::text AS due, detected_at::text AS detected_at,
		       resolved_on::text AS resolved_on, working_days_late
		FROM accountability WHERE $1 = '' OR county_code = $1
		ORDER BY id DESC LIMIT $2`, onlyCounty, ledgerLines)
	if err != nil {
		return d, fmt.Errorf("dashboard %d: ledger: %w", year, err)
	}
	return d, nil
}
