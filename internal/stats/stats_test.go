package stats

import (
	"context"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A finished batch of 2025 over two counties: four objects, one result
// entered late, one publication late, one follow-up with a judicial
// transfer; and a case of 2025 in 330411.
func TestYearFiguresAndLedger(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	stmts := []string{
		`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
			VALUES ('ST-1', 'committed', '{}', 'd', repeat('a', 64), '2025-03-01T10:00:00+08', 'test')`,
		`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code) VALUES
			('ST-1', 1, 'K1', 's', '{ZR-01}', '330402', '330402'), ('ST-1', 2, 'K2', 's', '{ZR-01}', '330402', '330402'),
			('ST-1', 3, 'K3', 's', '{ZR-01}', '330411', '330411'), ('ST-1', 4, 'K4', 's', '{ZR-01}', '330411', '330411')`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspected_on, result_due, publication_due) VALUES
			('ST-1', 'K1', '330402', 'closed', '2025-04-01', '2025-04-22', '2025-05-20'),
			('ST-1', 'K2', '330402', 'closed', '2025-04-01', '2025-04-22', '2025-05-20'),
			('ST-1', 'K3', '330411', 'closed', '2025-04-01', '2025-04-22', '2025-05-20'),
			('ST-1', 'K4', '330411', 'assigned', NULL, NULL, NULL)`,
		`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at, review) VALUES
			('ST-1', 'K1', 1, 'ok', 'on_site', false, 'x', now(), 'approved'),
			('ST-1', 'K2', 1, 'p', 'on_site', true, 'x', now(), 'approved'),
			('ST-1', 'K3', 1, 'ok', 'on_site', false, 'x', now(), 'approved')`,
		`INSERT INTO follow_ups (batch_id, object_key, completed_on, actions, entered_by, entered_at) VALUES
			('ST-1', 'K2', '2025-06-01', '{correction_ordered,judicial_transfer}', 'x', now())`,
		`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at, resolved_on, working_days_late) VALUES
			('ST-1', 'K1', '330402', 'result_entry', '2025-04-22', now(), '2025-04-25', 3),
			('ST-1', 'K3', '330411', 'publication', '2025-05-20', now(), NULL, NULL)`,
		`INSERT INTO cases (id, year, source, summary, object_key, county_code, inspection_end, state, policy, created_by)
			SELECT 'ST-C1', 2025, 'complaint', '投诉', key, '330411', '2025-12-31', 'open', '{}', 'x' FROM objects LIMIT 1`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	rep, err := NewService(db).Year(ctx, 2025)
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Total
	if tot.Drawn != 4 || tot.Inspected != 3 || tot.ResultsDue != 3 || tot.ResultsOnTime != 2 || *tot.ResultOnTimePct != 66.67 ||
		tot.Overdue != 2 || tot.OverdueWorkingDays != 3 || tot.OverdueOpen != 1 || tot.ProblemsFound != 1 ||
		tot.FollowUpsClosed != 1 || tot.CriminalTransfers != 1 || tot.PublicationsDue != 3 || tot.PublishedInTime != 2 {
		t.Errorf("total %+v", tot)
	}
	if len(rep.Counties) != 2 || rep.Counties[0].Code != "330402" || rep.Counties[0].Name != "南湖区" ||
		*rep.Counties[0].PublishedInTimePct != 100 || len(rep.Counties[0].LedgerResultEntry) != 1 ||
		*rep.Counties[1].PublishedInTimePct != 0 || len(rep.Counties[1].LedgerPublication) != 1 {
		t.Errorf("counties %+v", rep.Counties)
	}
	if len(rep.Departments) != 1 || rep.Departments[0].Code != "" || rep.Departments[0].Drawn != 4 {
		t.Errorf("departments %+v", rep.Departments)
	}
	if len(rep.Ledger) != 2 || rep.Ledger[0].Figures[1] != "result_on_time_pct" {
		t.Errorf("ledger %+v", rep.Ledger)
	}
	var b strings.Builder
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 5 || !strings.Contains(lines[1], "total,,全市,4,") {
		t.Errorf("csv:\n%s", b.String())
	}
	if other, _ := NewService(db).Year(ctx, 2024); other.Total.Drawn != 0 {
		t.Errorf("2024 sees 2025's batch: %+v", other.Total)
	}
}
