package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

// resultParams are the filters of the results page and its downloads.
var resultParams = []string{"q", "year", "department", "county", "item", "result", "batch"}

// resultQuery reads the filters (and, with page, the page to continue
// after) into a query of the store, and the filters again as a query
// string for the page's links.
func resultQuery(c *gin.Context, extra ...string) (disclosure.ResultQuery, map[string]string, url.Values, error) {
	q, err := query(c, append(resultParams, extra...)...)
	if err != nil {
		return disclosure.ResultQuery{}, nil, nil, err
	}
	year, err := yearParam(q["year"])
	if err != nil {
		return disclosure.ResultQuery{}, nil, nil, err
	}
	rq := disclosure.ResultQuery{Text: q["q"], Year: year, Department: q["department"], County: q["county"], Item: q["item"],
		Result: q["result"], Batch: q["batch"], Limit: resultsPerPage}
	if r := q["result"]; r != "" && inspection.ResultChinese(r) == "" {
		return disclosure.ResultQuery{}, nil, nil, fault.Field("result", "检查结果“%s”不存在，请从列表中选择", r)
	}
	if a := q["after"]; a != "" {
		var ok bool
		if rq.AfterBatch, rq.AfterKey, ok = strings.Cut(a, "/"); !ok {
			return rq, nil, nil, fault.Field("after", "翻页参数有误，请从第一页重新查询")
		}
	}
	filters := url.Values{}
	for _, name := range resultParams {
		if q[name] != "" {
			filters.Set(name, q[name])
		}
	}
	return rq, q, filters, rq.Check()
}

type resultsPage struct {
	Params  map[string]string
	Filters disclosure.Filters
	Results []resultRow
	First   bool
	Next    string // address of the next page
	Reset   string // address of the first page with the same filters
	CSV     string
	XLSX    string
}

func (p *Portal) results(c *gin.Context) {
	rq, params, filters, err := resultQuery(c, "after")
	if err == nil {
		rq, err = p.store.WithCodes(c.Request.Context(), rq)
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	results, more, err := p.store.Results(ctx, rq)
	if err != nil {
		p.fail(c, err)
		return
	}
	rp := resultsPage{Params: params, Results: rowsOf(results), First: rq.AfterBatch == ""}
	if rp.Filters, err = p.store.ResultFilters(ctx, p.thisYear()); err != nil {
		p.fail(c, err)
		return
	}
	link := func(path string, set ...string) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		for i := 0; i+1 < len(set); i += 2 {
			v.Set(set[i], set[i+1])
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	if more {
		last := results[len(results)-1]
		rp.Next = link("/results", "after", last.BatchID+"/"+last.ObjectKey)
	}
	rp.Reset = link("/results")
	rp.CSV = link("/results/export", "format", "csv")
	rp.XLSX = link("/results/export", "format", "xlsx")
	p.render(c, http.StatusOK, "results", "抽查结果公告", []Crumb{{Name: "抽查结果公告"}}, rp)
}

// A resultRow is a result as the results table shows it, its cells
// written once here rather than by template functions: the page is the
// portal's busiest.
type resultRow struct {
	ObjectHref, Name, Key, County, Items, Result, Inspected, Published, Authority, BatchHref, Batch string
}

func rowsOf(results []disclosure.Result) []resultRow {
	rows := make([]resultRow, len(results))
	for i, r := range results {
		name := r.ObjectName
		if name == "" {
			name = r.ObjectKey
		}
		rows[i] = resultRow{ObjectHref: "/objects/" + url.PathEscape(r.ObjectKey), Name: name, Key: r.ObjectKey, County: r.CountyName,
			Items: strings.Join(r.Items, "；"), Result: r.Result, Inspected: chineseDate(r.InspectedOn), Published: chineseDate(r.PublishedOn),
			Authority: r.Authority, BatchHref: "/batches/" + url.PathEscape(r.BatchID), Batch: r.BatchID}
	}
	return rows
}

// exportLimit bounds a download; the API's pages reach every result.
const exportLimit = 100000

// export answers the results with the page's filters as CSV (UTF-8 with a
// byte order mark, for Excel) or XLSX, with Chinese headers.
func (p *Portal) export(c *gin.Context) {
	rq, params, _, err := resultQuery(c, "format")
	if err == nil {
		rq, err = p.store.WithCodes(c.Request.Context(), rq)
	}
	if err == nil && params["format"] != "csv" && params["format"] != "xlsx" {
		err = fault.Field("format", "下载格式应为 csv 或 xlsx，而不是“%s”", params["format"])
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	var rows [][]string
	rq.Limit = 1000
	for {
		page, more, err := p.store.Results(c.Request.Context(), rq)
		if err != nil {
			p.fail(c, err)
			return
		}
		for _, r := range page {
			rows = append(rows, r.Row())
		}
		if !more || len(rows) >= exportLimit {
			break
		}
		last := page[len(page)-1]
		rq.AfterBatch, rq.AfterKey = last.BatchID, last.ObjectKey
	}
	if len(rows) > exportLimit {
		rows = rows[:exportLimit]
	}
	name := "抽查结果公告." + params["format"]
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="results.%s"; filename*=UTF-8''%s`, params["format"], url.PathEscape(name)))
	c.Header("Cache-Control", "public, max-age=60")
	if params["format"] == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Status(http.StatusOK)
		if err := writeCSV(c.Writer, disclosure.ResultHeader, rows); err != nil {
			p.log.Warn("results CSV: " + err.Error())
		}
		return
	}
	c.Header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Status(http.StatusOK)
	if err := writeXLSX(c.Writer, "抽查结果公告", disclosure.ResultHeader, rows); err != nil {
		p.log.Warn("results XLSX: " + err.Error())
	}
}

func writeCSV(w io.Writer, header []string, rows [][]string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(header)
	cw.WriteAll(rows)
	return cw.Error()
}

// writeXLSX writes one sheet: a bold, frozen header row, then the rows as
// text (keys and dates stay exactly as published).
func writeXLSX(w io.Writer, sheet string, header []string, rows [][]string) error {
	wb := excelize.NewFile()
	defer wb.Close()
	if err := wb.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := wb.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	bold, err := wb.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, len(header), 20); err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	values := make([]any, len(header))
	for i, h := range header {
		values[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", values); err != nil {
		return err
	}
	for n, row := range rows {
		for i, v := range row {
			values[i] = v
		}
		ref, err := excelize.CoordinatesToCellName(1, n+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, values); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = wb.WriteTo(w)
	return err
}

type objectPage struct {
	Key, Name string
	Results   []disclosure.Result
}

// object lists the published results of one object: nothing is shown of
// an object without one.
func (p *Portal) object(c *gin.Context) {
	if _, err := query(c); err != nil {
		p.fail(c, err)
		return
	}
	key := c.Param("key")
	results, _, err := p.store.Results(c.Request.Context(), disclosure.ResultQuery{Object: key, Limit: 500})
	if err == nil && len(results) == 0 {
		err = fault.New(fault.NotFound, "没有“%s”的公示结果。", key)
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	op := objectPage{Key: key, Name: results[0].ObjectName, Results: results}
	title := op.Name
	if title == "" {
		title = key
	}
	p.render(c, http.StatusOK, "object", title, []Crumb{{Name: "抽查结果公告", Href: "/results"}, {Name: title}}, op)
}
