package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// seedReportYear stores a batch of 2021 (a year no other test uses) over
// two counties, in a published plan of department RPT: six objects at
// every stage, overdue duties, ledger entries, results, publications and
// follow-ups with actions.
func seedReportYear(t *testing.T) string {
	t.Helper()
	db := testenv.DB(t)
	const b = "RPT-2021-1"
	stmts := []string{
		`INSERT INTO departments (code, name) VALUES ('RPT', '报表测试处')`,
		`INSERT INTO plans (id, year, name, department_code, state, rules, batches, inspection_start, inspection_end, created_by, approved_at, published_at)
			VALUES ('RPT-P', 2021, '2021年度报表测试计划', 'RPT', 'published', '{}', '[{"seq":1},{"seq":2}]', '2021-03-01', '2021-11-30', 'test', now(), now())`,
		`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, created_by)
			VALUES ('` + b + `', 'committed', '{}', 'd', repeat('b', 64), '2021-03-01T10:00:00+08', 'test')`,
		`INSERT INTO plan_batches (plan_id, seq, batch_id, started_by) VALUES ('RPT-P', 1, '` + b + `', 'test')`,
		`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code) VALUES
			('` + b + `', 1, 'RPT-K1', 's', '{ZR-01}', '330402', '330402'), ('` + b + `', 2, 'RPT-K2', 's', '{ZR-01}', '330402', '330402'),
			('` + b + `', 3, 'RPT-K3', 's', '{ZR-01}', '330402', '330402'), ('` + b + `', 4, 'RPT-K4', 's', '{ZR-01}', '330411', '330411'),
			('` + b + `', 5, 'RPT-K5', 's', '{ZR-01}', '330411', '330411'), ('` + b + `', 6, 'RPT-K6', 's', '{ZR-01}', '330411', '330411')`,
		`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspected_on, result_due, publication_due, overdue) VALUES
			('` + b + `', 'RPT-K1', '330402', 'closed', '2021-04-01', '2021-04-22', '2021-05-20', '{}'),
			('` + b + `', 'RPT-K2', '330402', 'follow_up', '2021-04-01', '2021-04-22', '2021-05-20', '{}'),
			('` + b + `', 'RPT-K3', '330402', 'inspected', '2021-04-01', '2021-04-22', NULL, '{result_entry}'),
			('` + b + `', 'RPT-K4', '330411', 'closed', '2021-04-01', '2021-04-22', '2021-05-20', '{}'),
			('` + b + `', 'RPT-K5', '330411', 'assigned', NULL, NULL, NULL, '{inspection}')`,
		`INSERT INTO results (batch_id, object_key, revision, result_code, method, problems_found, entered_by, entered_at, review) VALUES
			('` + b + `', 'RPT-K1', 1, 'corrected', 'on_site', true, 'x', now(), 'approved'),
			('` + b + `', 'RPT-K2', 1, 'pending_follow_up', 'on_site', true, 'x', now(), 'approved'),
			('` + b + `', 'RPT-K4', 1, 'no_problem', 'on_site', false, 'x', now(), 'approved')`,
		`INSERT INTO publications (batch_id, object_key, published_at) VALUES
			('` + b + `', 'RPT-K1', '2021-05-01T10:00:00+08'), ('` + b + `', 'RPT-K2', '2021-05-01T10:00:00+08'), ('` + b + `', 'RPT-K4', '2021-05-01T10:00:00+08')`,
		`INSERT INTO follow_ups (batch_id, object_key, completed_on, actions, entered_by, entered_at) VALUES
			('` + b + `', 'RPT-K1', '2021-06-01', '{order_correction,judicial_transfer}', 'x', now())`,
		`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at, resolved_on, working_days_late) VALUES
			('` + b + `', 'RPT-K1', '330402', 'result_entry', '2021-04-22', '2021-04-23T00:00:00+08', '2021-04-26', 2),
			('` + b + `', 'RPT-K3', '330402', 'result_entry', '2021-04-22', '2021-04-23T00:00:00+08', NULL, NULL),
			('` + b + `', 'RPT-K5', '330411', 'inspection', '2021-11-30', '2021-12-01T00:00:00+08', NULL, NULL)`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	return b
}

// readXLSX opens a served workbook and checks that each sheet's header row
// is frozen; it returns the rows of every sheet.
func readXLSX(t *testing.T, body []byte, sheets ...string) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, name := range sheets {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatalf("sheet %s: %v (sheets %v)", name, err, f.GetSheetList())
		}
		p, err := f.GetPanes(name)
		if err != nil || !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
			t.Errorf("sheet %s: header not frozen: %+v %v", name, p, err)
		}
		out[name] = rows
	}
	return out
}

// column returns the index of the header h.
func column(t *testing.T, header []string, h string) int {
	t.Helper()
	for i, x := range header {
		if x == h {
			return i
		}
	}
	t.Fatalf("no column %q in %v", h, header)
	return -1
}

func cellInt(t *testing.T, row []string, i int) int {
	t.Helper()
	if i >= len(row) || row[i] == "" {
		return 0
	}
	n, err := strconv.Atoi(row[i])
	if err != nil {
		t.Fatalf("cell %d of %v: %v", i, row, err)
	}
	return n
}

func TestReportsInExcelShowTheAPIFigures(t *testing.T) {
	batch := seedReportYear(t)
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	coordinator := map[string]string{"Authorization": "Bearer coordinator"}
	get := func(path string, hdr map[string]string, want int) []byte {
		t.Helper()
		rec := do(h, "GET", path, hdr)
		if rec.Code != want {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}

	// Progress: the XLSX rows are the JSON's counties and total.
	var p stats.Progress
	if err := json.Unmarshal(get("/api/v1/batches/"+batch+"/progress", coordinator, 200), &p); err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/api/v1/batches/"+batch+"/progress.xlsx", coordinator)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != xlsxType || rec.Header().Get("Content-Disposition") != `attachment; filename="progress-`+batch+`.xlsx"` {
		t.Fatalf("progress.xlsx: %d %v", rec.Code, rec.Header())
	}
	rows := readXLSX(t, rec.Body.Bytes(), "抽查进度")["抽查进度"]
	if len(rows) != len(p.Counties)+2 || len(p.Counties) != 2 {
		t.Fatalf("progress: %d rows for %d counties", len(rows), len(p.Counties))
	}
	hdr := rows[0]
	for i, c := range append(p.Counties, p.Total) {
		r := rows[i+1]
		if cellInt(t, r, column(t, hdr, "检查对象数")) != c.Objects {
			t.Errorf("progress row %v: objects, JSON %d", r, c.Objects)
		}
		for _, st := range inspection.Stages {
			if got := cellInt(t, r, column(t, hdr, inspection.StageNames[st])); got != c.Stages[st] {
				t.Errorf("progress row %v: %s %d, JSON %d", r, st, got, c.Stages[st])
			}
		}
		for _, d := range []string{"inspection", "result_entry"} {
			if got := cellInt(t, r, column(t, hdr, "逾期："+inspection.DutyNames[d])); got != c.Overdue[d] {
				t.Errorf("progress row %v: overdue %s %d, JSON %d", r, d, got, c.Overdue[d])
			}
		}
	}
	if rows[1][2] != "南湖区" || rows[3][2] != "合计" || rows[3][3] != "6" || p.Total.Stages[inspection.AwaitingMatch] != 1 {
		t.Errorf("progress rows %v", rows)
	}
	// A county officer's workbook has their county only.
	own := readXLSX(t, get("/api/v1/batches/"+batch+"/progress.xlsx", map[string]string{"Authorization": "Bearer county_officer/330411"}, 200), "抽查进度")["抽查进度"]
	if len(own) != 3 || own[1][1] != "330411" {
		t.Errorf("county officer's progress %v", own)
	}
	get("/api/v1/batches/no-such-batch/progress.xlsx", coordinator, 404)
	get("/api/v1/batches/"+batch+"/progress.xlsx", map[string]string{"Authorization": "Bearer inspector/I1"}, 403)

	// The ledger: every entry of the JSON list, in order.
	var page struct {
		Items []stats.Lapse `json:"items"`
	}
	if err := json.Unmarshal(get("/api/v1/accountability?batch="+batch, coordinator, 200), &page); err != nil {
		t.Fatal(err)
	}
	ledger := readXLSX(t, get("/api/v1/accountability.xlsx?batch="+batch, coordinator, 200), "问责台账")["问责台账"]
	if len(ledger) != len(page.Items)+1 || len(page.Items) != 3 {
		t.Fatalf("ledger: %d rows for %d entries", len(ledger), len(page.Items))
	}
	lh := ledger[0]
	for i, l := range page.Items {
		r := ledger[i+1]
		late := ""
		if l.WorkingDaysLate != nil {
			late = strconv.Itoa(*l.WorkingDaysLate)
		}
		if r[column(t, lh, "编号")] != fmt.Sprint(l.ID) || r[column(t, lh, "检查对象代码")] != l.ObjectKey ||
			r[column(t, lh, "期限")] != l.Due || r[column(t, lh, "职责")] != inspection.DutyNames[l.Duty] ||
			cellText(r, column(t, lh, "逾期工作日")) != late {
			t.Errorf("ledger row %v, JSON %+v", r, l)
		}
	}
	if ledger[1][column(t, lh, "状态")] != "已办结" || ledger[2][column(t, lh, "状态")] != "未办结" || ledger[1][column(t, lh, "发现逾期时间")] != "2021-04-23 00:00" {
		t.Errorf("ledger rows %v", ledger)
	}
	mine := readXLSX(t, get("/api/v1/accountability.xlsx?batch="+batch, map[string]string{"Authorization": "Bearer county_officer/330411"}, 200), "问责台账")["问责台账"]
	if len(mine) != 2 || mine[1][column(t, lh, "县（市、区）代码")] != "330411" {
		t.Errorf("county officer's ledger %v", mine)
	}
	get("/api/v1/accountability.xlsx?duty=lunch", coordinator, 400)

	// The year's statistics: each county's and department's row is the
	// JSON's figures.
	var rep stats.Report
	if err := json.Unmarshal(get("/api/v1/statistics?year=2021", coordinator, 200), &rep); err != nil {
		t.Fatal(err)
	}
	book := readXLSX(t, get("/api/v1/statistics.xlsx?year=2021", coordinator, 200), "按县（市、区）", "按处室", "问责台账")
	check := func(sheetName string, units []stats.Figures) {
		rows := book[sheetName]
		if len(rows) != len(units)+2 {
			t.Fatalf("%s: %d rows for %d units", sheetName, len(rows), len(units))
		}
		hdr := rows[0]
		for i, f := range append(units, rep.Total) {
			r := rows[i+1]
			for _, c := range []struct {
				col  string
				want int
			}{
				{"计划批次数", f.PlannedBatches}, {"已启动批次数", f.StartedBatches}, {"抽取对象数", f.Drawn}, {"已检查数", f.Inspected},
				{"已公示数", f.Published}, {"按时录入数", f.ResultsOnTime}, {"逾期录入数", f.ResultsDue - f.ResultsOnTime},
				{"按时公示数", f.PublishedInTime}, {"逾期公示数", f.PublicationsDue - f.PublishedInTime}, {"发现问题数", f.ProblemsFound},
				{"后续处置：责令改正", f.FollowUpActions["order_correction"]}, {"后续处置：移送司法机关", f.FollowUpActions["judicial_transfer"]},
				{"移送司法机关数", f.CriminalTransfers}, {"逾期事项数", f.Overdue}, {"未办结逾期事项数", f.OverdueOpen},
			} {
				if got := cellInt(t, r, column(t, hdr, c.col)); got != c.want {
					t.Errorf("%s %s: %s %d, JSON %d", sheetName, r[1], c.col, got, c.want)
				}
			}
			if f.ResultOnTimePct != nil && r[column(t, hdr, "按时录入率%")] != strconv.FormatFloat(*f.ResultOnTimePct, 'f', -1, 64) {
				t.Errorf("%s %s: 按时录入率 %s, JSON %v", sheetName, r[1], r[column(t, hdr, "按时录入率%")], *f.ResultOnTimePct)
			}
		}
	}
	check("按县（市、区）", rep.Counties)
	check("按处室", rep.Departments)
	if tot := rep.Total; tot.PlannedBatches != 2 || tot.StartedBatches != 1 || tot.Drawn != 6 || tot.Published != 3 ||
		tot.FollowUpActions["judicial_transfer"] != 1 || tot.CriminalTransfers != 1 || tot.Overdue != 3 {
		t.Errorf("2021 total %+v", tot)
	}
	if n := len(book["问责台账"]); n != len(rep.Ledger)+1 {
		t.Errorf("statistics ledger: %d rows for %d entries", n, len(rep.Ledger))
	}
	get("/api/v1/statistics.xlsx", coordinator, 400)
	get("/api/v1/statistics.xlsx?year=2021", map[string]string{"Authorization": "Bearer county_officer/330411"}, 403)
}

func cellText(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}
