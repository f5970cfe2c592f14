package stats

import (
	"context"
	"io"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/sheet"
)

// The reports in Excel (XLSX) read the same queries as the JSON endpoints:
// a batch's progress (Progress), the accountability ledger (Lapses) and the
// year's statistics for the annual assessment (Year).

// overdueDuties are the duties progress counts as overdue, in order.
var overdueDuties = []string{"matching", "inspection", "result_entry", "publication", "follow_up_entry"}

// WriteProgressXLSX writes a batch's progress by county and stage, with a
// total row; onlyCounty as for Progress.
func (s *Service) WriteProgressXLSX(ctx context.Context, w io.Writer, batchID, onlyCounty string) error {
	p, err := s.Progress(ctx, batchID, onlyCounty)
	if err != nil {
		return err
	}
	names, err := s.names(ctx)
	if err != nil {
		return err
	}
	return sheet.Write(w, ProgressTable(p, names))
}

// ProgressTable is p as a sheet: one row per county, then the total.
func ProgressTable(p Progress, names map[string]string) sheet.Table {
	t := sheet.Table{Name: "抽查进度", Header: []string{"批次", "县（市、区）代码", "县（市、区）", "检查对象数"}}
	for _, st := range inspection.Stages {
		t.Header = append(t.Header, inspection.StageNames[st])
	}
	for _, d := range overdueDuties {
		t.Header = append(t.Header, "逾期："+inspection.DutyNames[d])
	}
	t.Header = append(t.Header, "全部办结")
	row := func(c CountyProgress, code, name string) []any {
		r := []any{p.BatchID, code, name, c.Objects}
		for _, st := range inspection.Stages {
			r = append(r, c.Stages[st])
		}
		for _, d := range overdueDuties {
			r = append(r, c.Overdue[d])
		}
		done := "否"
		if c.Done || (code == "" && c.Objects > 0 && c.Stages[inspection.Closed] == c.Objects) {
			done = "是"
		}
		return append(r, done)
	}
	for _, c := range p.Counties {
		t.Rows = append(t.Rows, row(c, c.County, names["county:"+c.County]))
	}
	t.Rows = append(t.Rows, row(p.Total, "", "合计"))
	return t
}

// WriteLedgerXLSX writes the ledger entries f selects, by ID.
func (s *Service) WriteLedgerXLSX(ctx context.Context, w io.Writer, f LedgerFilter) error {
	var all []Lapse
	for after := int64(0); ; {
		page, err := s.Lapses(ctx, f, after, 5000)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < 5000 {
			break
		}
		after = page[len(page)-1].ID
	}
	names, err := s.names(ctx)
	if err != nil {
		return err
	}
	return sheet.Write(w, LedgerTable(all, names))
}

// LedgerTable is the ledger as a sheet (尽职照单免责，失职照单问责).
func LedgerTable(list []Lapse, names map[string]string) sheet.Table {
	t := sheet.Table{Name: "问责台账", Header: []string{"编号", "批次", "检查对象代码", "县（市、区）代码", "县（市、区）",
		"职责", "期限", "发现逾期时间", "完成日期", "逾期工作日", "状态"}}
	for _, l := range list {
		var resolved, late any
		status := "未办结"
		if l.ResolvedOn != nil {
			resolved, status = *l.ResolvedOn, "已办结"
		}
		if l.WorkingDaysLate != nil {
			late = *l.WorkingDaysLate
		}
		detected := l.DetectedAt
		if at, err := time.Parse("2006-01-02 15:04:05.999999-07", l.DetectedAt); err == nil {
			detected = at.In(china).Format("2006-01-02 15:04")
		}
		t.Rows = append(t.Rows, []any{int(l.ID), l.BatchID, l.ObjectKey, l.County, names["county:"+l.County],
			inspection.DutyNames[l.Duty], l.Due, detected, resolved, late, status})
	}
	return t
}

var china = time.FixedZone("CST", 8*3600)

// WriteYearXLSX writes the year's statistics for the annual assessment
// (年度考核): by county, by department, and the ledger behind them.
func (s *Service) WriteYearXLSX(ctx context.Context, w io.Writer, year int) error {
	rep, err := s.Year(ctx, year)
	if err != nil {
		return err
	}
	return sheet.Write(w, rep.Tables()...)
}

// yearHeader names the figures' columns.
func yearHeader() []string {
	h := []string{"代码", "名称", "计划批次数", "已启动批次数", "抽取对象数", "定向检查数", "已检查数", "已公示数",
		"应录入结果数", "按时录入数", "逾期录入数", "按时录入率%", "应公示数", "按时公示数", "逾期公示数", "按时公示率%", "发现问题数"}
	for _, a := range inspection.FollowUpActions {
		h = append(h, "后续处置："+a.Chinese)
	}
	return append(h, "后续监管办结数", "移送司法机关数", "逾期事项数", "逾期工作日合计", "未办结逾期事项数")
}

func (f Figures) row() []any {
	pct := func(v *float64) any {
		if v == nil {
			return nil
		}
		return *v
	}
	r := []any{f.Code, f.Name, f.PlannedBatches, f.StartedBatches, f.Drawn, f.Targeted, f.Inspected, f.Published,
		f.ResultsDue, f.ResultsOnTime, f.ResultsDue - f.ResultsOnTime, pct(f.ResultOnTimePct),
		f.PublicationsDue, f.PublishedInTime, f.PublicationsDue - f.PublishedInTime, pct(f.PublishedInTimePct), f.ProblemsFound}
	for _, a := range inspection.FollowUpActions {
		r = append(r, f.FollowUpActions[a.Code])
	}
	return append(r, f.FollowUpsClosed, f.CriminalTransfers, f.Overdue, f.OverdueWorkingDays, f.OverdueOpen)
}

// Tables are the report's sheets: counties and departments, each with the
// city's total last, and the ledger rows of the year.
func (r Report) Tables() []sheet.Table {
	units := func(name string, list []Figures) sheet.Table {
		t := sheet.Table{Name: name, Header: yearHeader()}
		for _, f := range list {
			t.Rows = append(t.Rows, f.row())
		}
		total := r.Total
		total.Code = ""
		t.Rows = append(t.Rows, total.row())
		return t
	}
	ledger := sheet.Table{Name: "问责台账", Header: []string{"编号", "批次", "检查对象代码", "县（市、区）代码", "处室代码",
		"职责", "期限", "完成日期", "逾期工作日", "影响指标"}}
	for _, l := range r.Ledger {
		var resolved, late any
		if l.ResolvedOn != nil {
			resolved = *l.ResolvedOn
		}
		if l.WorkingDaysLate != nil {
			late = *l.WorkingDaysLate
		}
		ledger.Rows = append(ledger.Rows, []any{int(l.ID), l.BatchID, l.ObjectKey, l.County, l.Department,
			inspection.DutyNames[l.Duty], l.Due, resolved, late, figureNames(l.Figures)})
	}
	return []sheet.Table{units("按县（市、区）", r.Counties), units("按处室", r.Departments), ledger}
}

func figureNames(fs []string) string {
	names := map[string]string{"overdue": "逾期事项数", "result_on_time_pct": "按时录入率", "published_in_time_pct": "按时公示率"}
	out := ""
	for i, f := range fs {
		if i > 0 {
			out += "、"
		}
		out += names[f]
	}
	return out
}
