package bulk

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// freshDB is a migrated database of the test's own, for tests that look at
// whole tables.
func freshDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(context.Background(), db.DB); err != nil {
		t.Fatal(err)
	}
	return db
}

func csvBytes(t testing.TB, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// codes returns n distinct valid credit codes, different for every seed.
func codes(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		c := uscc.Generate(r, "330402")
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

var objectHeader = []string{"统一社会信用代码", "名称", "对象类型", "所属区域", "所属站所", "地址", "标签", "风险等级", "信用等级", "状态", "最近检查日期"}

// snapshot returns the library's rows as text, without ids and times.
func snapshot(t *testing.T, db *sqlx.DB, l *Library, keys ...string) [][]string {
	t.Helper()
	cols := []string{}
	for _, c := range l.columns {
		cols = append(cols, "coalesce("+c.db()+"::text, '<null>')")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + l.Name
	var args []any
	if len(keys) > 0 {
		q += " WHERE key = ANY($1)"
		args = append(args, keysArray(keys))
	}
	rows, err := db.Query(q+" ORDER BY key", args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return out
}

func keysArray(keys []string) string { return arrayLiteral(keys) }

func changes(t *testing.T, db *sqlx.DB, keys ...string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM library_changes WHERE entity_key = ANY($1)`, keysArray(keys)); err != nil {
		t.Fatal(err)
	}
	return n
}

func importFile(t *testing.T, db *sqlx.DB, l *Library, name string, data []byte, opt Options) (*Result, error) {
	t.Helper()
	if opt.Actor == "" {
		opt.Actor = "tester"
	}
	return Import(context.Background(), db, l, writeFile(t, name, data), opt)
}

func TestImportCreatesUpdatesAndLeavesUnchangedAlone(t *testing.T) {
	db := testenv.DB(t)
	k := codes(1, 3)
	rows := [][]string{objectHeader,
		{k[0], "嘉兴甲矿业有限公司", "企业", "南湖区", "城南所", "南湖路1号", "矿山;土地", "高", "C", "正常", "2024-05-06"},
		{k[1], "嘉兴乙建材有限公司", "enterprise", "330411", "", "", "", "", "", "", ""},
		{k[2], "嘉兴丙公司", "", "秀洲区", "", "", "", "low", "A", "closed", ""},
	}
	res, err := importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Created != 3 || res.Updated != 0 || res.Unchanged != 0 || !res.Written || res.Encoding != UTF8 {
		t.Errorf("first import %+v", res)
	}
	var by []struct{ Actor, Source, Action string }
	if err := db.Select(&by, `SELECT actor, source, action FROM library_changes WHERE entity_key = ANY($1)`, keysArray(k)); err != nil {
		t.Fatal(err)
	}
	if len(by) != 3 || by[0].Actor != "tester" || by[0].Source != "import" || by[0].Action != "create" {
		t.Errorf("history %+v", by)
	}
	before := snapshot(t, db, Objects, k...)
	if before[0][1] == "" || len(before) != 3 {
		t.Fatalf("rows %q", before)
	}

	// The same file again changes nothing and records nothing.
	res, err = importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || res.Updated != 0 || res.Unchanged != 3 {
		t.Errorf("second import %+v", res)
	}
	if n := changes(t, db, k...); n != 3 {
		t.Errorf("%d history records after an import without changes, want 3", n)
	}

	// One changed cell: one update, one history record.
	rows[2][7] = "较高"
	res, err = importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || res.Updated != 1 || res.Unchanged != 2 {
		t.Errorf("third import %+v", res)
	}
	var after struct {
		Risk    string `db:"risk_level"`
		Version int64  `db:"row_version"`
	}
	if err := db.Get(&after, `SELECT risk_level, row_version FROM objects WHERE key = $1`, k[1]); err != nil {
		t.Fatal(err)
	}
	if after.Risk != "raised" || after.Version != 2 || changes(t, db, k...) != 4 {
		t.Errorf("after update %+v, %d history records", after, changes(t, db, k...))
	}

	// A file without optional columns keeps their stored values.
	res, err = importFile(t, db, Objects, "b.csv", csvBytes(t, [][]string{{"key", "name", "region"}, {k[0], "嘉兴甲矿业有限公司（更名）", "南湖区"}}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, db, Objects, k[0])[0]
	if res.Updated != 1 || got[1] != "嘉兴甲矿业有限公司（更名）" || got[7] != "high" || got[6] != "{矿山,土地}" || got[10] != "2024-05-06" {
		t.Errorf("partial update %+v: %q", res, got)
	}
}

// plant is one planted error: where it must be reported and a word the
// message must contain.
type plant struct {
	row    int
	column string
	word   string
}

func checkPlanted(t *testing.T, err error, plants []plant) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		t.Fatalf("error %v, want an Invalid fault", err)
	}
	res, ok := e.Details.(*Result)
	if !ok || res.ProblemCount != len(e.Problems) || len(res.Problems) != 0 || res.Written {
		t.Fatalf("details %#v", e.Details)
	}
	var got, want []string
	for _, p := range e.Problems {
		got = append(got, fmt.Sprintf("%d|%s", p.Row, p.Column))
	}
	for _, p := range plants {
		want = append(want, fmt.Sprintf("%d|%s", p.row, p.column))
		found := false
		for _, q := range e.Problems {
			if q.Row == p.row && q.Column == p.column && strings.Contains(q.Message, p.word) {
				found = true
			}
		}
		if !found {
			t.Errorf("planted error at row %d, column %q (%s) not reported", p.row, p.column, p.word)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reported:\n%s\nplanted:\n%s\nproblems: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), e.Problems)
	}
}

func TestPlantedErrorsAreAllReportedAndNothingIsWritten(t *testing.T) {
	db := testenv.DB(t)
	k := codes(2, 12)
	bad := k[2][:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", k[2][17])+1)%31])
	rows := [][]string{objectHeader,
		{k[0], "甲", "企业", "南湖区", "", "", "", "", "", "", ""},           // row 2: good
		{bad, "乙", "企业", "南湖区", "", "", "", "", "", "", ""},            // row 3: credit code
		{k[3], "丙", "企业", "上城区", "", "", "", "", "", "", ""},           // row 4: region
		{k[0], "丁", "企业", "南湖区", "", "", "", "", "", "", ""},           // row 5: duplicate of row 2
		{k[5], "戊", "企业", "南湖区", "", "", "", "很高", "", "", ""},         // row 6: risk
		{k[6], "己", "企业", "南湖区", "", "", "", "", "", "", "2024-02-30"}, // row 7: date
		{k[7], "", "企业", "南湖区", "", "", "", "", "", "", ""},            // row 8: name
		{k[8], "辛", "工厂", "南湖区", "", "", "", "", "", "", ""},           // row 9: kind
		{k[9], "壬", "企业", "南湖区", "", "", "", "", "E", "", ""},          // row 10: credit class
		{k[10], "癸", "企业", "南湖区", "", "", "", "", "", "歇业", ""},        // row 11: status
		{k[11], "子", "企业", "南湖区", "", "", "", "", "", "", "", "多余"},    // row 12: beyond the header
		{"XM-1\t2", "丑", "项目", "南湖区", "", "", "", "", "", "", ""},      // row 13: key with a tab
		{k[1], "寅\x00", "企业", "南湖区", "", "", "", "", "", "", ""},       // row 14: NUL
		{k[4], "卯", "企业", "南湖区", "", "", "a\nb", "", "", "", ""},       // row 15: tag with line break
		{k[4], "卯", "企业", "南湖区", "", "", "", "", "", "", ""},           // row 16: duplicate of row 15
		{k[4], "卯", "企业", "南湖区", "", "", "", "", "", "", ""},           // row 17: duplicate of row 15
	}
	data := csvBytes(t, rows)
	data = append(data, []byte("\""+k[2]+"\"x,辰,企业,南湖区\n")...) // row 18: CSV syntax
	before := changes(t, db, k...)
	_, err := importFile(t, db, Objects, "bad.csv", data, Options{})
	checkPlanted(t, err, []plant{
		{3, "A (统一社会信用代码)", "check character"},
		{4, "D (所属区域)", "unknown region"},
		{5, "A (统一社会信用代码)", "first in row 2"},
		{6, "H (风险等级)", "unknown risk level"},
		{7, "K (最近检查日期)", "not a date"},
		{8, "B (名称)", "is empty"},
		{9, "C (对象类型)", "unknown object kind"},
		{10, "I (信用等级)", "unknown credit class"},
		{11, "J (状态)", "unknown object status"},
		{12, "L", "right of the last column"},
		{13, "A (统一社会信用代码)", "tab or line break"},
		{14, "B (名称)", "NUL"},
		{15, "G (标签)", "line break"},
		{16, "A (统一社会信用代码)", "first in row 15"},
		{17, "A (统一社会信用代码)", "first in row 15"},
		{18, "", "CSV syntax"},
	})
	if got := snapshot(t, db, Objects, k...); len(got) != 0 || changes(t, db, k...) != before {
		t.Errorf("a file with problems wrote %q", got)
	}
	e, _ := fault.As(err)
	res := e.Details.(*Result)
	// Row 2 is good: the counts say what it would have done.
	if res.Rows != 17 || res.Skipped != 16 || res.Created != 1 {
		t.Errorf("result %+v", res)
	}
}

func TestHeaderProblemsAreReportedWithRowProblems(t *testing.T) {
	db := testenv.DB(t)
	k := codes(3, 2)
	data := csvBytes(t, [][]string{
		{"统一社会信用代码", "名称", "备注", "名称", "风险等级"},
		{k[0], "甲", "x", "甲", "高"},
		{k[1], "乙", "", "乙", "未知"},
	})
	_, err := importFile(t, db, Objects, "h.csv", data, Options{SkipInvalid: true})
	checkPlanted(t, err, []plant{
		{1, "C (备注)", "unknown column"},
		{1, "", "the columns of objects are"},
		{1, "D (名称)", "repeats column B"},
		{1, "", "missing required column 所属区域"},
		{3, "E (风险等级)", "unknown risk level"},
	})
	if got := snapshot(t, db, Objects, k...); len(got) != 0 {
		t.Errorf("wrote %q", got)
	}
}

func TestDryRunCountsAndWritesNothing(t *testing.T) {
	db := testenv.DB(t)
	k := codes(4, 3)
	rows := [][]string{objectHeader,
		{k[0], "甲", "企业", "南湖区", "", "", "", "", "", "", ""},
		{k[1], "乙", "企业", "南湖区", "", "", "", "", "", "", ""},
	}
	if _, err := importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{}); err != nil {
		t.Fatal(err)
	}
	before, hist := snapshot(t, db, Objects, k...), changes(t, db, k...)
	rows[2][1] = "乙（新）"
	rows = append(rows, []string{k[2], "丙", "企业", "南湖区", "", "", "", "", "", "", ""})
	res, err := importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Written || res.Created != 1 || res.Updated != 1 || res.Unchanged != 1 {
		t.Errorf("dry run %+v", res)
	}
	if !reflect.DeepEqual(snapshot(t, db, Objects, k...), before) || changes(t, db, k...) != hist {
		t.Error("a dry run wrote")
	}
}

func TestSkipInvalidImportsTheGoodRows(t *testing.T) {
	db := testenv.DB(t)
	k := codes(5, 3)
	rows := [][]string{objectHeader,
		{k[0], "甲", "企业", "南湖区", "", "", "", "", "", "", ""},
		{k[1], "乙", "企业", "火星", "", "", "", "", "", "", ""},
		{k[0], "甲2", "企业", "南湖区", "", "", "", "", "", "", ""},
		{k[2], "丙", "企业", "秀洲区", "", "", "", "", "", "", ""},
	}
	res, err := importFile(t, db, Objects, "a.csv", csvBytes(t, rows), Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 || res.Skipped != 2 || res.ProblemCount != 2 || len(res.Problems) != 2 || !res.Written {
		t.Errorf("result %+v", res)
	}
	got := snapshot(t, db, Objects, k...)
	if len(got) != 2 || got[0][1]+got[1][1] != "甲丙" && got[0][1]+got[1][1] != "丙甲" {
		t.Errorf("rows %q", got)
	}
}

func TestGB18030AndXLSXImportLikeUTF8(t *testing.T) {
	db := testenv.DB(t)
	k := codes(6, 1)
	rows := [][]string{objectHeader, {k[0], "嘉兴市秀洲区某某砖瓦厂", "企业", "秀洲区", "王店所", "秀洲区王店镇", "砖瓦；窑厂", "较高", "C类", "停业", "2023年9月1日"}}
	res, err := importFile(t, db, Objects, "g.csv", gb18030(t, string(csvBytes(t, rows))), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Encoding != GB18030 || res.Created != 1 {
		t.Errorf("result %+v", res)
	}
	want := [][]string{{k[0], "嘉兴市秀洲区某某砖瓦厂", "enterprise", "330411", "王店所", "秀洲区王店镇", "{砖瓦,窑厂}", "raised", "C", "closed", "2023-09-01"}}
	if got := snapshot(t, db, Objects, k...); !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q\nwant %q", got, want)
	}
}

func TestTooLargeAndUnreadableFilesWriteNothing(t *testing.T) {
	db := testenv.DB(t)
	k := codes(7, 1)
	data := csvBytes(t, [][]string{objectHeader, {k[0], "甲", "企业", "南湖区"}})
	_, err := importFile(t, db, Objects, "a.csv", data, Options{MaxBytes: int64(len(data) - 1)})
	if fault.KindOf(err) != fault.TooLarge || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := importFile(t, db, Objects, "a.xlsx", []byte("PK\x03\x04broken"), Options{}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("malformed xlsx: %v", err)
	}
	if _, err := importFile(t, db, Objects, "a.csv", nil, Options{}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("empty file: %v", err)
	}
	if _, err := importFile(t, db, Objects, "a.csv", []byte("\n\n"), Options{}); fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "no header row") {
		t.Errorf("blank file: %v", err)
	}
	if got := snapshot(t, db, Objects, k...); len(got) != 0 {
		t.Errorf("wrote %q", got)
	}
}

func TestInspectorsImport(t *testing.T) {
	db := testenv.DB(t)
	rows := [][]string{
		{"工号", "姓名", "所属区域", "所属单位", "执法证号", "执法证有效期至", "标签", "状态", "最大任务数"},
		{"T8-001", "张三", "南湖区", "城南所", "33040012345", "2027-12-31", "测绘;组长", "在岗", "15"},
		{"T8-002", "李四", "JXGQ", "", "", "", "", "", ""},
	}
	res, err := importFile(t, db, Inspectors, "i.csv", csvBytes(t, rows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 {
		t.Errorf("result %+v", res)
	}
	want := [][]string{
		{"T8-001", "张三", "330402", "城南所", "33040012345", "2027-12-31", "{测绘,组长}", "active", "15"},
		{"T8-002", "李四", "JXGQ", "", "", "<null>", "{}", "active", "20"},
	}
	if got := snapshot(t, db, Inspectors, "T8-001", "T8-002"); !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q\nwant %q", got, want)
	}
}

// roundTripFixture has every kind, region form, empty and full optional
// cell, and text that needs quoting.
func roundTripFixture(t *testing.T) (objects, inspectors []byte) {
	k := codes(8, 4)
	objects = csvBytes(t, [][]string{objectHeader,
		{k[0], `嘉兴"甲"矿业, 有限公司`, "企业", "南湖区", "城南所", "南湖路1号\n2幢", "矿山;土地", "高", "D", "正常", "2024-05-06"},
		{k[1], "乙", "企业", "330411", "", "", "", "", "", "注销", ""},
		{k[2], "丙", "企业", "嘉兴经济技术开发区（国际商务区）", "", "", "x", "低", "A", "迁出", "2020-01-31"},
		{k[3], "丁", "企业", "JXGQ", "", "", "", "一般", "B", "吊销", ""},
		{"XM-2024-001", "嘉兴某项目", "项目", "海宁市", "", "", `a"b`, "", "", "停业", ""},
		{"CP-1", "某产品", "产品", "平湖市", "", "", "", "", "", "", ""},
		{"XW 1", "某行为", "行为", "桐乡市", "", "", "", "", "", "", ""},
		{"QT-1", "其他对象", "其他", "海盐县", "", "", "", "", "", "", ""},
	})
	inspectors = csvBytes(t, [][]string{
		{"工号", "姓名", "所属区域", "所属单位", "执法证号", "执法证有效期至", "标签", "状态", "最大任务数"},
		{"R-001", "张三", "南湖区", "城南所", "33040012345", "2027-12-31", "测绘;组长", "在岗", "15"},
		{"R-002", "李四", "JXGQ", "", "", "", "", "退休", ""},
		{"R-003", "王五", "嘉善县", "", "0012", "2025-01-01", "", "休假", "1"},
	})
	return objects, inspectors
}

func TestExportImportRoundTrip(t *testing.T) {
	objects, inspectors := roundTripFixture(t)
	for _, format := range []Format{CSV, XLSX} {
		t.Run(string(format), func(t *testing.T) {
			ctx := context.Background()
			src, dst := freshDB(t), freshDB(t)
			for _, c := range []struct {
				l    *Library
				data []byte
			}{{Objects, objects}, {Inspectors, inspectors}} {
				if _, err := importFile(t, src, c.l, "fixture.csv", c.data, Options{}); err != nil {
					t.Fatal(err)
				}
				want := snapshot(t, src, c.l)
				exp, err := StartExport(ctx, src, c.l, format, Filter{})
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := exp.Write(&buf); err != nil {
					t.Fatal(err)
				}
				// Into an empty library: the same rows.
				res, err := importFile(t, dst, c.l, exp.FileName(), buf.Bytes(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Format != format || res.Created != len(want) {
					t.Errorf("%s: import of the export %+v", c.l.Name, res)
				}
				if got := snapshot(t, dst, c.l); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: round trip changed rows:\n got %q\nwant %q", c.l.Name, got, want)
				}
				// Into the library it came from: nothing changes.
				res, err = importFile(t, src, c.l, exp.FileName(), buf.Bytes(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Unchanged != len(want) || res.Created+res.Updated != 0 {
					t.Errorf("%s: re-import of the export %+v", c.l.Name, res)
				}
			}
		})
	}
}

func TestExportFilters(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	objects, _ := roundTripFixture(t)
	if _, err := importFile(t, db, Objects, "f.csv", objects, Options{}); err != nil {
		t.Fatal(err)
	}
	count := func(f Filter) int {
		exp, err := StartExport(ctx, db, Objects, CSV, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var buf bytes.Buffer
		if err := exp.Write(&buf); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) - 1
	}
	for f, want := range map[Filter]int{{}: 8, {Region: "南湖区"}: 1, {Region: "330411"}: 1, {Kind: "项目"}: 1, {Kind: "enterprise", Status: "注销"}: 1} {
		if got := count(f); got != want {
			t.Errorf("%+v: %d rows, want %d", f, got, want)
		}
	}
	for _, f := range []Filter{{Region: "火星"}, {Kind: "x"}, {Status: "x"}} {
		if _, err := StartExport(ctx, db, Objects, CSV, f); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%+v: %v", f, err)
		}
	}
	if _, err := StartExport(ctx, db, Inspectors, CSV, Filter{Kind: "企业"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("inspectors by kind: %v", err)
	}
}

func TestTemplateExampleImports(t *testing.T) {
	db := testenv.DB(t)
	for _, l := range []*Library{Objects, Inspectors} {
		var buf bytes.Buffer
		if err := WriteTemplate(context.Background(), db, l, &buf); err != nil {
			t.Fatal(err)
		}
		res, err := importFile(t, db, l, TemplateFileName(l), buf.Bytes(), Options{DryRun: true})
		if err != nil {
			t.Fatalf("%s template: %v", l.Name, err)
		}
		if res.Format != XLSX || res.Rows != 1 || res.Created+res.Updated+res.Unchanged != 1 {
			t.Errorf("%s template: %+v", l.Name, res)
		}
	}
}

func TestProblemsAreCappedButCounted(t *testing.T) {
	db := testenv.DB(t)
	rows := [][]string{{"key", "name", "kind", "region"}}
	for i := range 1500 {
		rows = append(rows, []string{fmt.Sprintf("CAP-%d", i), "甲", "项目", "火星"})
	}
	var seen int
	_, err := importFile(t, db, Objects, "cap.csv", csvBytes(t, rows), Options{MaxProblems: 100, OnProblem: func(fault.Problem) { seen++ }})
	e, ok := fault.As(err)
	if !ok || len(e.Problems) != 100 || e.Details.(*Result).ProblemCount != 1500 || seen != 1500 ||
		!strings.Contains(e.Msg, "1500 problem(s) (the first 100 are listed)") || e.Problems[99].Row != 101 {
		t.Fatalf("%v", err)
	}
}
