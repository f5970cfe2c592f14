package bulk

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

var isoDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// FuzzParseObjectRow checks the row parser's promises on any cells: it
// never panics, every problem names its row and column, a row it accepts
// satisfies every constraint of the objects table (so the database never
// refuses what the parser let through), and the exported form of an
// accepted row parses to the same values (export → import is the identity).
func FuzzParseObjectRow(f *testing.F) {
	f.Add(exampleUSCC, "嘉兴市示例矿业有限公司", "企业", "南湖区", "城南所", "南湖路1号", "矿山;土地", "一般", "B", "正常", "2024-06-30")
	f.Add("XM-1", "项目", "project", "jxjk", "", "a\nb", "x，y|z", "high", "d", "注销", "20240101")
	lo, problems := newLayout(Objects, 1, objectHeader)
	if len(problems) > 0 {
		f.Fatal(problems)
	}
	regions := testRegions()
	f.Fuzz(func(t *testing.T, key, name, kind, region, station, address, tags, risk, credit, status, last string) {
		p := newParser(lo, regions, csvSource())
		cells := []string{key, name, kind, region, station, address, tags, risk, credit, status, last}
		vals, k, empty, problems := p.parse(7, cells)
		if empty {
			if len(problems) > 0 || vals != nil {
				t.Fatalf("empty row with problems %v", problems)
			}
			return
		}
		for _, pr := range problems {
			if pr.Row != 7 || pr.Column == "" || pr.Message == "" {
				t.Fatalf("problem without row or column: %+v", pr)
			}
		}
		if len(problems) > 0 {
			if vals != nil {
				t.Fatal("values returned with problems")
			}
			return
		}
		checkObjectConstraints(t, vals, k, regions)

		// The export writes these cells; they must read back the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write(exportedCells(vals)); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		exported, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("CSV of %q: %v", exportedCells(vals), err)
		}
		again, k2, _, problems := newParser(lo, regions, csvSource()).parse(7, exported)
		if len(problems) > 0 {
			t.Fatalf("exported row %q has problems: %v", exported, problems)
		}
		if k2 != k || !reflect.DeepEqual(again, vals) {
			t.Fatalf("round trip changed the row:\n%q\n%q", vals, again)
		}
	})
}

// checkObjectConstraints asserts the objects table's CHECK constraints,
// its public_key domain and its foreign key in Go.
func checkObjectConstraints(t *testing.T, vals []any, key string, regions *Regions) {
	t.Helper()
	str := func(i int) string {
		s, ok := vals[i].(string)
		if !ok {
			t.Fatalf("column %s: %#v is not text", Objects.columns[i].name, vals[i])
		}
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("column %s: %q is not storable text", Objects.columns[i].name, s)
		}
		return s
	}
	if key != str(0) || key == "" || key != strings.TrimSpace(key) || strings.ContainsAny(key, "\t\r\n") || utf8.RuneCountInString(key) > 64 {
		t.Fatalf("key %q violates public_key", key)
	}
	if str(1) == "" {
		t.Fatal("empty name accepted")
	}
	for i, v := range map[int]*library.Vocabulary{2: library.ObjectKinds, 7: library.RiskLevels, 8: library.CreditClasses, 9: library.ObjectStatuses} {
		if !contains(v.Codes(), str(i)) {
			t.Fatalf("%s %q is not a code", v.Name, str(i))
		}
	}
	if c, ok := regions.lookup(str(3)); !ok || c != str(3) {
		t.Fatalf("region %q is not a code", str(3))
	}
	if str(2) == "enterprise" {
		if err := uscc.Validate(key); err != nil {
			t.Fatalf("enterprise key %q: %v", key, err)
		}
	}
	tags := str(6)
	if !strings.HasPrefix(tags, "{") || !strings.HasSuffix(tags, "}") {
		t.Fatalf("tags %q", tags)
	}
	if vals[10] != nil && !isoDate.MatchString(str(10)) {
		t.Fatalf("date %q", str(10))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exportedCells renders parsed values as the export writes them.
func exportedCells(vals []any) []string {
	cells := make([]string, len(vals))
	for i, v := range vals {
		s, _ := v.(string)
		if Objects.columns[i].typ == typeTags {
			s = strings.Join(parseArrayLiteral(s), ";")
		}
		cells[i] = s
	}
	return cells
}

// parseArrayLiteral reads what arrayLiteral writes.
func parseArrayLiteral(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var out []string
	var cur strings.Builder
	in, esc := false, false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc = true
		case r == '"':
			in = !in
		case r == ',' && !in:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if s != "" {
		out = append(out, cur.String())
	}
	return out
}

// FuzzReadFile feeds any bytes to the whole reading path, encoding
// detection, CSV or XLSX parsing, header mapping and row checks: it must
// answer with rows or with problems, never panic or fail otherwise.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte("统一社会信用代码,名称,所属区域\n" + exampleUSCC + ",甲,南湖区\n"))
	f.Add([]byte("key\tname\tregion\nA\tB\tC\n"))
	f.Add([]byte("\"unterminated,\n"))
	f.Add([]byte("\xef\xbb\xbfname\n\xff\n"))
	regions := testRegions()
	// A real workbook: the template, whose example row is valid.
	wb := excelize.NewFile()
	if err := buildTemplate(wb, Objects, regions); err != nil {
		f.Fatal(err)
	}
	var xlsx bytes.Buffer
	if _, err := wb.WriteTo(&xlsx); err != nil {
		f.Fatal(err)
	}
	f.Add(xlsx.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := openSource(path, "", "")
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("open: %v is not a fault", err)
			}
			return
		}
		defer src.close()
		var p *parser
		for {
			row, cells, err := src.next()
			var re *rowError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &re):
				if re.row < 1 {
					t.Fatalf("row error at row %d", re.row)
				}
				continue
			case err != nil:
				if _, ok := fault.As(err); !ok {
					t.Fatalf("read: %v is not a fault", err)
				}
				return
			}
			if row < 1 {
				t.Fatalf("row %d", row)
			}
			if p == nil {
				lo, _ := newLayout(Objects, row, cells)
				p = newParser(lo, regions, src)
				continue
			}
			_, _, _, problems := p.parse(row, cells)
			for _, pr := range problems {
				if pr.Row != row || pr.Column == "" {
					t.Fatalf("problem %+v", pr)
				}
			}
		}
	})
}
