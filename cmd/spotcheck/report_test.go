package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// The reports from the command line are the API's: the same service
// writes both; here the workbooks are read back and checked against the
// service's figures.
func TestExportReports(t *testing.T) {
	url := testenv.DatabaseURL(t)
	db := testenv.DB(t)
	for _, q := range []string{
		`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
			VALUES ('CLI-RPT', 'committed', '{}', 'd', repeat('c', 64), '2022-03-01T10:00:00+08', 'test')`,
		`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code) VALUES
			('CLI-RPT', 1, 'CLI-K1', 's', '{ZR-01}', '330402', '330402'), ('CLI-RPT', 2, 'CLI-K2', 's', '{ZR-01}', '330421', '330421')`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspected_on, result_due, overdue) VALUES
			('CLI-RPT', 'CLI-K1', '330402', 'inspected', '2022-04-01', '2022-04-22', '{result_entry}'),
			('CLI-RPT', 'CLI-K2', '330421', 'assigned', NULL, NULL, '{}')`,
		`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at) VALUES
			('CLI-RPT', 'CLI-K1', '330402', 'result_entry', '2022-04-22', '2022-04-23T00:00:00+08')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	dir := t.TempDir()
	open := func(args ...string) *excelize.File {
		t.Helper()
		file := filepath.Join(dir, args[1]+".xlsx")
		if _, stderr, err := cliRun(append(args, "-o", file, "--database-url", url)...); err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
		f, err := excelize.OpenFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	svc := stats.NewService(db)
	ctx := context.Background()

	p, err := svc.Progress(ctx, "CLI-RPT", "")
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := open("export", "progress", "--batch", "CLI-RPT").GetRows("抽查进度")
	if len(rows) != 4 || rows[1][1] != "330402" || rows[3][2] != "合计" || rows[3][3] != strconv.Itoa(p.Total.Objects) {
		t.Errorf("progress rows %v, service %+v", rows, p)
	}
	ledger, _ := open("export", "ledger", "--batch", "CLI-RPT").GetRows("问责台账")
	if len(ledger) != 2 || ledger[1][2] != "CLI-K1" || ledger[1][5] != "检查结果录入" || ledger[1][10] != "未办结" {
		t.Errorf("ledger rows %v", ledger)
	}
	rep, err := svc.Year(ctx, 2022)
	if err != nil {
		t.Fatal(err)
	}
	counties, _ := open("export", "statistics", "--year", "2022").GetRows("按县（市、区）")
	if len(counties) != len(rep.Counties)+2 || counties[1][0] != rep.Counties[0].Code || counties[1][4] != strconv.Itoa(rep.Counties[0].Drawn) ||
		counties[len(counties)-1][1] != "全市" {
		t.Errorf("statistics rows %v, service %+v", counties, rep.Counties)
	}

	for _, bad := range [][]string{
		{"export", "progress"}, {"export", "statistics", "--year", "twenty"}, {"export", "ledger", "--duty", "lunch"},
	} {
		if _, _, err := cliRun(append(bad, "--database-url", url)...); exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
	if _, _, err := cliRun("export", "progress", "--batch", "NO-SUCH", "-o", filepath.Join(dir, "x.xlsx"), "--database-url", url); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown batch: %v", err)
	}
}
