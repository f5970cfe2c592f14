package bulk

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/xuri/excelize/v2"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// Filter selects the rows of an export; empty fields select everything.
type Filter struct {
	Region string // code or name
	Kind   string // objects only; code or Chinese term
	Status string // code or Chinese term
}

// An Export is a running query over a library, ready to be written as a
// file. Everything the caller can get wrong is checked by StartExport, so a
// response can send its status before writing.
type Export struct {
	lib    *Library
	format Format
	rows   *sql.Rows
}

// StartExport checks the filter and starts the query.
func StartExport(ctx context.Context, db *sqlx.DB, l *Library, format Format, f Filter) (*Export, error) {
	if format == "" {
		format = CSV
	}
	var where []string
	var args []any
	if f.Region != "" {
		regions, err := loadRegions(ctx, db)
		if err != nil {
			return nil, err
		}
		code, ok := regions.lookup(strings.TrimSpace(f.Region))
		if !ok {
			return nil, fault.Field("region", "unknown region %s: use one of %s", quote(f.Region), strings.Join(regions.list, ", "))
		}
		args = append(args, code)
		where = append(where, fmt.Sprintf("region_code = $%d", len(args)))
	}
	if f.Kind != "" {
		if l != Objects {
			return nil, fault.Field("kind", "only objects have a kind")
		}
		code, ok := library.ObjectKinds.Canonical(f.Kind)
		if !ok {
			return nil, fault.Field("kind", "unknown object kind %s: use %s", quote(f.Kind), vocabHint(library.ObjectKinds))
		}
		args = append(args, code)
		where = append(where, fmt.Sprintf("kind = $%d", len(args)))
	}
	if f.Status != "" {
		v := library.ObjectStatuses
		if l == Inspectors {
			v = library.InspectorStatuses
		}
		code, ok := v.Canonical(f.Status)
		if !ok {
			return nil, fault.Field("status", "unknown %s %s: use %s", v.Name, quote(f.Status), vocabHint(v))
		}
		args = append(args, code)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	exprs := make([]string, len(l.columns))
	for i, c := range l.columns {
		col := pq.QuoteIdentifier(c.db())
		switch c.typ {
		case typeTags:
			exprs[i] = "array_to_string(" + col + ", ';')"
		case typeDate:
			exprs[i] = "coalesce(to_char(" + col + ", 'YYYY-MM-DD'), '')"
		default:
			exprs[i] = col + "::text"
		}
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + pq.QuoteIdentifier(l.Name)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY key"
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", l.Name, err)
	}
	return &Export{lib: l, format: format, rows: rows}, nil
}

// ContentType is the media type of the file.
func (e *Export) ContentType() string { return contentType(e.format) }

// FileName is a name for the file, e.g. objects.csv.
func (e *Export) FileName() string { return e.lib.Name + "." + string(e.format) }

func contentType(f Format) string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Write writes the file and closes the query. CSV streams row by row;
// XLSX is assembled in a temporary file by the workbook writer first.
func (e *Export) Write(w io.Writer) error {
	defer e.rows.Close()
	cells := make([]string, len(e.lib.columns))
	ptrs := make([]any, len(cells))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	var err error
	if e.format == XLSX {
		err = e.writeXLSX(w, cells, ptrs)
	} else {
		err = e.writeCSV(w, cells, ptrs)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", e.lib.Name, err)
	}
	return nil
}

// Close ends the query when Write is not called.
func (e *Export) Close() error { return e.rows.Close() }

func (e *Export) writeCSV(w io.Writer, cells []string, ptrs []any) error {
	// The byte order mark makes Excel read the file as UTF-8; imports
	// accept it.
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(headers(e.lib)); err != nil {
		return err
	}
	for e.rows.Next() {
		if err := e.rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	if err := e.rows.Err(); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (e *Export) writeXLSX(w io.Writer, cells []string, ptrs []any) error {
	wb := excelize.NewFile()
	defer wb.Close()
	sheet := e.lib.Title
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
	for i, c := range e.lib.columns {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	values := make([]any, len(cells))
	for i, h := range headers(e.lib) {
		values[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", values); err != nil {
		return err
	}
	for row := 2; e.rows.Next(); row++ {
		if err := e.rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, c := range e.lib.columns {
			values[i] = cellValue(c, cells[i])
		}
		ref, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, values); err != nil {
			return err
		}
	}
	if err := e.rows.Err(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = wb.WriteTo(w)
	return err
}

// cellValue is what an XLSX cell holds: numbers as numbers, everything else
// as text, so that no cell format changes a key or a date on the way back.
func cellValue(c *column, s string) any {
	if s == "" {
		return nil
	}
	if c.typ == typeInt {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return s
}

func headers(l *Library) []string {
	h := make([]string, len(l.columns))
	for i, c := range l.columns {
		h[i] = c.header
	}
	return h
}

// TemplateFileName names the template of l.
func TemplateFileName(l *Library) string { return l.Name + "-import-template.xlsx" }

// TemplateContentType is the media type of templates.
const TemplateContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// WriteTemplate writes an XLSX workbook for filling in l: the Chinese
// headers, one example row, drop-down lists of the allowed values, and a
// sheet explaining every column.
func WriteTemplate(ctx context.Context, db *sqlx.DB, l *Library, w io.Writer) error {
	regions, err := loadRegions(ctx, db)
	if err != nil {
		return err
	}
	wb := excelize.NewFile()
	defer wb.Close()
	if err := buildTemplate(wb, l, regions); err != nil {
		return fmt.Errorf("template for %s: %w", l.Name, err)
	}
	if _, err := wb.WriteTo(w); err != nil {
		return fmt.Errorf("template for %s: %w", l.Name, err)
	}
	return nil
}

func buildTemplate(wb *excelize.File, l *Library, regions *Regions) error {
	sheet := l.Title
	if err := wb.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	bold, err := wb.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	// Text format (@) keeps Excel from turning codes into numbers.
	text, err := wb.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	// The allowed values live on a hidden sheet; the drop-downs refer to it.
	const options = "选项"
	if _, err := wb.NewSheet(options); err != nil {
		return err
	}
	optCol := 0
	for i, c := range l.columns {
		letter := columnLetter(i)
		if err := wb.SetColWidth(sheet, letter, letter, c.width); err != nil {
			return err
		}
		if c.typ == typeKey || c.typ == typeDate || c.name == "certificate_no" {
			// Before the cells are written: it restyles existing ones.
			if err := wb.SetColStyle(sheet, letter, text); err != nil {
				return err
			}
		}
		if err := wb.SetCellStr(sheet, letter+"1", c.header); err != nil {
			return err
		}
		if err := wb.SetCellStyle(sheet, letter+"1", letter+"1", bold); err != nil {
			return err
		}
		example := c.example
		if c.typ == typeInt {
			n, _ := strconv.Atoi(example)
			if err := wb.SetCellInt(sheet, letter+"2", int64(n)); err != nil {
				return err
			}
		} else if err := wb.SetCellStr(sheet, letter+"2", example); err != nil {
			return err
		}
		var choices []string
		switch c.typ {
		case typeVocab:
			for _, code := range c.vocab.Codes() {
				choices = append(choices, c.vocab.Chinese(code))
			}
		case typeRegion:
			for _, item := range regions.list {
				choices = append(choices, item[:strings.LastIndex(item, " (")])
			}
		}
		if len(choices) == 0 {
			continue
		}
		optCol++
		optLetter := columnLetter(optCol - 1)
		if err := wb.SetCellStr(options, optLetter+"1", c.header); err != nil {
			return err
		}
		for j, v := range choices {
			if err := wb.SetCellStr(options, fmt.Sprintf("%s%d", optLetter, j+2), v); err != nil {
				return err
			}
		}
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(fmt.Sprintf("%s2:%s1048576", letter, letter))
		dv.SetSqrefDropList(fmt.Sprintf("'%s'!$%s$2:$%s$%d", options, optLetter, optLetter, len(choices)+1))
		if err := wb.AddDataValidation(sheet, dv); err != nil {
			return err
		}
	}
	if err := wb.SetSheetVisible(options, false); err != nil {
		return err
	}
	if err := wb.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}

	const help = "填写说明"
	if _, err := wb.NewSheet(help); err != nil {
		return err
	}
	lines := [][]string{
		{"列名", "英文列名", "是否必填", "说明"},
	}
	for _, c := range l.columns {
		req := "否"
		if c.required {
			req = "是"
		}
		lines = append(lines, []string{c.header, c.name, req, c.hint})
	}
	lines = append(lines, []string{},
		[]string{"第一行为列名，可用中文或英文列名，列的顺序不限；未列出的列不得出现，文件中缺少的非必填列在更新时保持原值。"},
		[]string{"第二行为示例，导入前请删除或改为真实数据。按“统一社会信用代码/对象编码”（或工号）新增或更新，文件内不得重复。"},
		[]string{"也可另存为 CSV（UTF-8 或 GB18030 编码）导入。文件有任何错误时不导入任何数据，并列出每个错误所在的行和列。"})
	for i, line := range lines {
		for j, v := range line {
			if err := wb.SetCellStr(help, fmt.Sprintf("%s%d", columnLetter(j), i+1), v); err != nil {
				return err
			}
		}
	}
	if err := wb.SetCellStyle(help, "A1", "D1", bold); err != nil {
		return err
	}
	for col, width := range map[string]float64{"A": 24, "B": 24, "C": 10, "D": 90} {
		if err := wb.SetColWidth(help, col, col, width); err != nil {
			return err
		}
	}
	wb.SetActiveSheet(0)
	return nil
}
