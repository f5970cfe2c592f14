// Package sheet writes reports as XLSX workbooks for people who open them
// in a spreadsheet: one sheet per table, a bold header row that stays in
// view (frozen) while scrolling, numbers as numbers.
package sheet

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Table is one sheet: its name (Chinese, at most 31 characters), header
// and rows. A row's cells are strings, ints, float64s or nil (empty).
type Table struct {
	Name   string
	Header []string
	Rows   [][]any
}

// Write writes tables as one workbook to w.
func Write(w io.Writer, tables ...Table) error {
	wb := excelize.NewFile()
	defer wb.Close()
	bold, err := wb.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	if err != nil {
		return err
	}
	for i, t := range tables {
		if i == 0 {
			err = wb.SetSheetName("Sheet1", t.Name)
		} else {
			_, err = wb.NewSheet(t.Name)
		}
		if err != nil {
			return fmt.Errorf("sheet %q: %w", t.Name, err)
		}
		if err := writeTable(wb, t, bold); err != nil {
			return fmt.Errorf("sheet %q: %w", t.Name, err)
		}
	}
	_, err = wb.WriteTo(w)
	return err
}

func writeTable(wb *excelize.File, t Table, bold int) error {
	sw, err := wb.NewStreamWriter(t.Name)
	if err != nil {
		return err
	}
	for i, h := range t.Header {
		// Wide enough for the header or the widest cell, in CJK widths.
		width := 2*utf8.RuneCountInString(h) + 2
		for _, r := range t.Rows {
			if i < len(r) {
				if n := 2*utf8.RuneCountInString(fmt.Sprint(r[i])) + 2; n > width {
					width = n
				}
			}
		}
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(width, 8), 60))); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(t.Header))
	for i, h := range t.Header {
		head[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, r := range t.Rows {
		ref, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}
