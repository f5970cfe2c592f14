package bulk

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gb18030(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens a file and returns its rows with their numbers.
func readAll(t *testing.T, path string, format Format, enc Encoding) (*source, []int, [][]string, []string) {
	t.Helper()
	src, err := openSource(path, format, enc)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer src.close()
	var nums []int
	var rows [][]string
	var rowErrs []string
	for {
		n, cells, err := src.next()
		var re *rowError
		if errors.Is(err, io.EOF) {
			break
		} else if errors.As(err, &re) {
			rowErrs = append(rowErrs, re.Error())
			continue
		} else if err != nil {
			t.Fatalf("next: %v", err)
		}
		nums = append(nums, n)
		rows = append(rows, append([]string(nil), cells...))
	}
	return src, nums, rows, rowErrs
}

func TestEncodingDetection(t *testing.T) {
	text := "名称,所属区域\n嘉兴市某某矿业有限公司,南湖区\n"
	cases := []struct {
		name string
		data []byte
		enc  Encoding
		want Encoding
	}{
		{"utf-8", []byte(text), "", UTF8},
		{"utf-8 with BOM", append([]byte("\uFEFF"), text...), "", UTF8},
		{"gb18030", gb18030(t, text), "", GB18030},
		{"gb18030 named gbk", gb18030(t, text), GB18030, GB18030},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, _, rows, _ := readAll(t, writeFile(t, "f.csv", c.data), "", c.enc)
			if src.encoding != c.want {
				t.Errorf("encoding %q, want %q", src.encoding, c.want)
			}
			want := [][]string{{"名称", "所属区域"}, {"嘉兴市某某矿业有限公司", "南湖区"}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows %q", rows)
			}
		})
	}
}

func TestLongFileEncodingDetectedAcrossChunks(t *testing.T) {
	// Multi-byte characters straddle every read boundary somewhere in a
	// file this long; a GB18030 byte late in the file must still count.
	var b strings.Builder
	b.WriteString("名称\n")
	for b.Len() < 1<<20 {
		b.WriteString("嘉兴市南湖区某某有限公司\n")
	}
	if src, _, _, _ := readAll(t, writeFile(t, "u.csv", []byte(b.String())), "", ""); src.encoding != UTF8 {
		t.Errorf("long UTF-8 file read as %q", src.encoding)
	}
	if src, _, _, _ := readAll(t, writeFile(t, "g.csv", gb18030(t, b.String())), "", ""); src.encoding != GB18030 {
		t.Errorf("long GB18030 file read as %q", src.encoding)
	}
	// A mixture is neither: the foreign cells are reported where they are.
	data := append([]byte(b.String()), gb18030(t, "秀洲区\n")...)
	src, _, rows, _ := readAll(t, writeFile(t, "m.csv", data), "", "")
	if !strings.Contains(src.badTextMsg, "neither") || !src.badText(rows[len(rows)-1][0]) || src.badText(rows[1][0]) {
		t.Errorf("UTF-8 file with a GB18030 tail: encoding %q, message %q", src.encoding, src.badTextMsg)
	}
}

func TestWrongEncodingIsReportedPerCell(t *testing.T) {
	// Explicit UTF-8 on a GB18030 file.
	src, _, rows, _ := readAll(t, writeFile(t, "g.csv", gb18030(t, "名称\n南湖区\n")), "", UTF8)
	if src.encoding != UTF8 || !src.badText(rows[1][0]) || !strings.Contains(src.badTextMsg, "encoding=gb18030") {
		t.Errorf("encoding %q, bad %v, msg %q", src.encoding, src.badText(rows[1][0]), src.badTextMsg)
	}
	// Neither encoding: 0xFF is never GB18030 or UTF-8.
	src, _, rows, _ = readAll(t, writeFile(t, "x.csv", []byte("name\nab\xffcd\n")), "", "")
	if !src.badText(rows[1][0]) || !strings.Contains(src.badTextMsg, "neither UTF-8 nor GB18030") {
		t.Errorf("bad %v, msg %q", src.badText(rows[1][0]), src.badTextMsg)
	}
}

func TestUnreadableFilesAreFaults(t *testing.T) {
	cases := []struct {
		name   string
		data   []byte
		format Format
		want   string
	}{
		{"empty", nil, "", "the file is empty"},
		{"utf-16", []byte("\xff\xfen\x00a\x00"), "", "UTF-16"},
		{"binary", []byte("name\n\x00\x01\x02"), "", "NUL"},
		{"xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"), "", ".xls"},
		{"zip as csv", []byte("PK\x03\x04junk"), CSV, "not CSV"},
		{"malformed xlsx", []byte("PK\x03\x04junk that is no zip"), "", "not a readable XLSX"},
		{"text as xlsx", []byte("名称\n"), XLSX, "not a readable XLSX"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := openSource(writeFile(t, "f", c.data), c.format, "")
			e, ok := fault.As(err)
			if !ok || e.Kind != fault.Invalid || !strings.Contains(e.Error(), c.want) {
				t.Fatalf("error %v, want an Invalid fault saying %q", err, c.want)
			}
		})
	}
}

func TestCSVRowsAreSpreadsheetRows(t *testing.T) {
	data := "a,b\n1,2\n\n3,\"multi\nline\"\n4,5\n\"bad\"x,6\n7,8\n"
	_, nums, rows, rowErrs := readAll(t, writeFile(t, "f.csv", []byte(data)), "", "")
	if want := []int{1, 2, 4, 5, 7}; !reflect.DeepEqual(nums, want) {
		t.Errorf("row numbers %v, want %v (rows %q)", nums, want, rows)
	}
	if len(rowErrs) != 1 || !strings.HasPrefix(rowErrs[0], "row 6:") {
		t.Errorf("row errors %q", rowErrs)
	}
	if rows[2][1] != "multi\nline" {
		t.Errorf("multi-line cell %q", rows[2][1])
	}
}

func TestTabDelimited(t *testing.T) {
	_, _, rows, _ := readAll(t, writeFile(t, "f.txt", []byte("名称\t所属区域\n甲\t南湖区\n")), "", "")
	if len(rows) != 2 || len(rows[1]) != 2 || rows[1][1] != "南湖区" {
		t.Errorf("rows %q", rows)
	}
}

func TestXLSXRowsKeepTheirNumbers(t *testing.T) {
	wb := excelize.NewFile()
	must(t, wb.SetCellStr("Sheet1", "A1", "名称"))
	must(t, wb.SetCellStr("Sheet1", "B1", "最近检查日期"))
	must(t, wb.SetCellStr("Sheet1", "A2", "甲"))
	must(t, wb.SetCellStr("Sheet1", "A5", "乙"))
	must(t, wb.SetCellInt("Sheet1", "B5", 45474)) // 2024-07-01 as Excel stores dates
	var buf bytes.Buffer
	if _, err := wb.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_, nums, rows, _ := readAll(t, writeFile(t, "f.xlsx", buf.Bytes()), "", "")
	var got []int
	for i, n := range nums {
		if len(rows[i]) > 0 {
			got = append(got, n)
		}
	}
	if want := []int{1, 2, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows with cells %v, want %v", got, want)
	}
	if d, ok := parseDate(rows[len(rows)-1][1], true); !ok || d != "2024-07-01" {
		t.Errorf("serial date %q read as %q", rows[len(rows)-1][1], d)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestHeaderMapping(t *testing.T) {
	lo, problems := newLayout(Objects, 1, []string{"\uFEFF统一社会信用代码", " 名称* ", "REGION", "风险等级（必填）", "", "tags"})
	if len(problems) != 0 {
		t.Fatalf("problems %v", problems)
	}
	for _, name := range []string{"key", "name", "region", "risk_level", "tags", "kind"} {
		c, _ := Objects.column(name)
		if name == "kind" {
			if lo.present[c] {
				t.Error("kind present")
			}
			continue
		}
		if !lo.present[c] {
			t.Errorf("%s not mapped", name)
		}
	}
	_, problems = newLayout(Objects, 1, []string{"名称", "备注", "name", "address"})
	var msgs []string
	for _, p := range problems {
		msgs = append(msgs, p.String())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		`row 1, column B (备注): unknown column "备注"`,
		`row 1, column C (name): column "name" repeats column A (名称), both are 名称 (name)`,
		`row 1: missing required column 统一社会信用代码/对象编码 (key)`,
		`row 1: missing required column 所属区域 (region)`,
		`the columns of objects are: 统一社会信用代码/对象编码 (key) required`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5:\n%s", len(problems), got)
	}
}

func TestColumnLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := columnLetter(i); got != want {
			t.Errorf("columnLetter(%d) = %q, want %q", i, got, want)
		}
	}
}

func testRegions() *Regions {
	return NewRegions(
		[]string{"330402", "330411", "JXJK"},
		[]string{"南湖区", "秀洲区", "嘉兴经济技术开发区（国际商务区）"})
}

func csvSource() *source {
	return &source{format: CSV, encoding: UTF8, badText: func(s string) bool { return !utf8.ValidString(s) }, badTextMsg: "is not valid UTF-8 text"}
}

func TestParseObjectRow(t *testing.T) {
	hdr := []string{"统一社会信用代码", "名称", "对象类型", "所属区域", "所属站所", "地址", "标签", "风险等级", "信用等级", "状态", "最近检查日期"}
	lo, problems := newLayout(Objects, 1, hdr)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	p := newParser(lo, testRegions(), csvSource())
	code := uscc.Generate(rand.New(rand.NewPCG(1, 2)), "330402")
	lower := strings.ToLower(code[:10]) + code[10:]

	vals, key, empty, problems := p.parse(2, []string{" " + lower + " ", "嘉兴某某公司", "企业", "南湖区", "城南所", "", "矿山； 土地|,测绘", "较高", "C类", "存续", "2024/6/3"})
	if len(problems) > 0 || empty {
		t.Fatalf("problems %v", problems)
	}
	want := []any{code, "嘉兴某某公司", "enterprise", "330402", "城南所", "", `{"矿山","土地","测绘"}`, "raised", "C", "active", "2024-06-03"}
	if key != code || !reflect.DeepEqual(vals, want) {
		t.Errorf("vals %q\nwant %q", vals, want)
	}

	vals, _, _, problems = p.parse(3, []string{"XM-2024-001", "某某项目", "项目", "jxjk", "", "", "", "", "", "", ""})
	if len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	want = []any{"XM-2024-001", "某某项目", "project", "JXJK", "", "", "{}", "normal", "B", "active", nil}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("defaults %q\nwant %q", vals, want)
	}

	if _, _, empty, _ := p.parse(4, []string{"", " ", "\u3000"}); !empty {
		t.Error("blank row not empty")
	}

	_, _, _, problems = p.parse(5, []string{code[:17] + "0", "", "工厂", "上城区", "", "", "", "极高", "E", "倒闭", "2024-13-01", "多余"})
	var got []string
	for _, pr := range problems {
		got = append(got, pr.String())
	}
	wantProblems := []string{
		`row 5, column L: has a value ("多余") to the right of the last column of the header`,
		`row 5, column B (名称): is empty; 名称 (name) is required`,
		`row 5, column C (对象类型): unknown object kind "工厂": use enterprise (企业), project (项目), product (产品), behaviour (行为), other (其他)`,
		`row 5, column D (所属区域): unknown region "上城区": use a region name or code: 南湖区 (330402), 秀洲区 (330411), 嘉兴经济技术开发区（国际商务区） (JXJK)`,
		`row 5, column H (风险等级): unknown risk level "极高": use low (低), normal (一般), raised (较高), high (高)`,
		`row 5, column I (信用等级): unknown credit class "E": use A (A类), B (B类), C (C类), D (D类)`,
		`row 5, column J (状态): unknown object status "倒闭": use active (正常), closed (停业), cancelled (注销), revoked (吊销), moved_out (迁出)`,
		`row 5, column K (最近检查日期): "2024-13-01" is not a date: write it as 2024-06-30`,
	}
	if strings.Join(got, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
	}

	// The kind is valid now, so the key is checked as a credit code.
	_, _, _, problems = p.parse(6, []string{code[:17] + "0", "甲", "企业", "南湖区"})
	if len(problems) != 1 || problems[0].Column != "A (统一社会信用代码)" || !strings.Contains(problems[0].Message, "check character") {
		t.Errorf("bad credit code: %v", problems)
	}
	_, _, _, problems = p.parse(7, []string{"9.1330402123457E+17", "甲", "", "南湖区"})
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "format the column as text") {
		t.Errorf("rounded credit code: %v", problems)
	}
	_, _, _, problems = p.parse(8, []string{strings.Repeat("项", 65), "甲", "项目", "南湖区"})
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "at most 64") {
		t.Errorf("long key: %v", problems)
	}
}

func TestParseInspectorRow(t *testing.T) {
	lo, problems := newLayout(Inspectors, 1, []string{"工号", "姓名", "所属区域", "执法证号", "执法证有效期至", "最大任务数", "状态"})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	p := newParser(lo, testRegions(), csvSource())
	vals, key, _, problems := p.parse(2, []string{"JX001", "张三", "330411", "3304001", "2027年12月31日", "15", "休假"})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	// Absent columns (unit, tags) are not staged.
	want := []any{"JX001", "张三", "330411", nil, "3304001", "2027-12-31", nil, "on_leave", "15"}
	if key != "JX001" || !reflect.DeepEqual(vals, want) {
		t.Errorf("vals %q\nwant %q", vals, want)
	}
	_, _, _, problems = p.parse(3, []string{"JX002", "李四", "330411", "", "2027-02-30", "0", ""})
	if len(problems) != 2 || problems[0].Column != "E (执法证有效期至)" || problems[1].Column != "F (最大任务数)" {
		t.Errorf("problems %v", problems)
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-06-03": "2024-06-03", "2024-6-3": "2024-06-03", "2024/06/03": "2024-06-03", "2024.6.3": "2024-06-03",
		"2024年6月3日": "2024-06-03", "20240603": "2024-06-03", "2024-06-03 00:00:00": "2024-06-03",
		"2024-02-30": "", "2024-06-03 10:00": "", "1899-12-31": "", "45446": "", "June 3": "",
	} {
		got, ok := parseDate(in, false)
		if got != want || ok != (want != "") {
			t.Errorf("parseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := parseDate("45446", true); !ok || got != "2024-06-03" {
		t.Errorf("serial 45446 = %q", got)
	}
	if _, ok := parseDate("45446.5", true); ok {
		t.Error("a serial with a time of day accepted")
	}
}

func TestArrayLiteral(t *testing.T) {
	if got := arrayLiteral([]string{`a"b`, `c\d`, "测绘"}); got != `{"a\"b","c\\d","测绘"}` {
		t.Errorf("got %s", got)
	}
}

func TestExampleCodeIsValid(t *testing.T) {
	if err := uscc.Validate(exampleUSCC); err != nil {
		t.Fatal(err)
	}
}
