package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/bulk"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

var bulkRng = rand.New(rand.NewPCG(rand.Uint64(), 11))

// bulkFixture is a handler on the package database and a region of the
// test's own, so that exports filtered by it see only the test's rows.
type bulkFixture struct {
	t      *testing.T
	h      http.Handler
	db     *sqlx.DB
	region string
}

func newBulkFixture(t *testing.T) bulkFixture {
	t.Helper()
	db := testenv.DB(t)
	region := fmt.Sprintf("BK%d", bulkRng.IntN(1e9))
	if _, err := db.Exec(`INSERT INTO regions (code, name, parent_code) VALUES ($1, $2, '330400')`, region, "测试区"+region); err != nil {
		t.Fatal(err)
	}
	return bulkFixture{t: t, db: db, region: region,
		h: asAdmin(testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}}))}
}

func (f bulkFixture) do(req *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		f.t.Errorf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	return rec
}

// upload posts data as the multipart field "file" named name.
func (f bulkFixture) upload(path, name string, data []byte) *httptest.ResponseRecorder {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile("file", name)
	if err != nil {
		f.t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return f.do(req)
}

func (f bulkFixture) objectsCSV(rows ...[]string) []byte {
	f.t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"统一社会信用代码", "名称", "所属区域", "风险等级", "标签"})
	w.WriteAll(rows)
	return buf.Bytes()
}

func (f bulkFixture) count(keys ...string) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM objects WHERE key = ANY($1)`, "{"+strings.Join(keys, ",")+"}"); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func newCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uscc.Generate(bulkRng, "330402")
	}
	return out
}

func decodeInto(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
}

func TestImportAPI(t *testing.T) {
	f := newBulkFixture(t)
	k := newCodes(2)
	data := f.objectsCSV([]string{k[0], "嘉兴甲公司", f.region, "高", "矿山"}, []string{k[1], "嘉兴乙公司", "测试区" + f.region, "", ""})
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes(data)
	if err != nil {
		t.Fatal(err)
	}

	rec := f.upload("/api/v1/objects/import?dry_run=true", "对象.csv", gb)
	var res bulk.Result
	decodeInto(t, rec, &res)
	if rec.Code != 200 || !res.DryRun || res.Written || res.Created != 2 || res.Encoding != bulk.GB18030 || f.count(k...) != 0 {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}

	rec = f.upload("/api/v1/objects/import", "对象.csv", gb)
	decodeInto(t, rec, &res)
	if rec.Code != 200 || res.DryRun || !res.Written || res.Created != 2 || f.count(k...) != 2 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	var name, actor string
	if err := f.db.QueryRow(`SELECT o.name, c.actor FROM objects o JOIN library_changes c ON c.entity_key = o.key WHERE o.key = $1`, k[0]).Scan(&name, &actor); err != nil {
		t.Fatal(err)
	}
	if name != "嘉兴甲公司" || actor != "admin:test" {
		t.Errorf("stored %q by %q", name, actor)
	}
}

func TestImportAPIListsEveryProblem(t *testing.T) {
	f := newBulkFixture(t)
	k := newCodes(3)
	bad := k[2][:17] + map[bool]string{true: "1", false: "0"}[k[2][17] == '0']
	data := f.objectsCSV(
		[]string{k[0], "甲", f.region, "", ""},
		[]string{bad, "乙", f.region, "", ""},
		[]string{k[1], "丙", "火星", "", ""},
		[]string{k[0], "丁", f.region, "", ""},
		[]string{k[1], "戊", f.region, "超高", ""},
	)
	rec := f.upload("/api/v1/objects/import", "bad.csv", data)
	if rec.Code != 400 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var p struct {
		Problem
		Details bulk.Result `json:"details"`
	}
	decodeInto(t, rec, &p)
	var got []string
	for _, e := range p.Errors {
		got = append(got, fmt.Sprintf("%d %s", e.Row, e.Column))
	}
	want := []string{"3 A (统一社会信用代码)", "4 C (所属区域)", "5 A (统一社会信用代码)", "6 A (统一社会信用代码)", "6 D (风险等级)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("errors %q, want %q", got, want)
	}
	if p.Details.ProblemCount != 5 || p.Details.Rows != 5 || p.Details.Created != 1 || len(p.Details.Problems) != 0 || p.Details.Written || !strings.Contains(p.Detail, "nothing was imported") {
		t.Errorf("problem %+v", p)
	}
	if f.count(k...) != 0 {
		t.Error("a file with problems wrote rows")
	}
}

func TestImportAPIBadRequests(t *testing.T) {
	f := newBulkFixture(t)
	good := f.objectsCSV([]string{newCodes(1)[0], "甲", f.region, "", ""})
	check := func(name string, rec *httptest.ResponseRecorder, status int, want string) {
		t.Helper()
		if rec.Code != status || !strings.Contains(rec.Body.String(), want) ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s, want %d saying %q", name, rec.Code, rec.Body, status, want)
		}
	}
	check("bad encoding", f.upload("/api/v1/objects/import?encoding=big5", "a.csv", good), 400, `"field":"encoding"`)
	check("bad format", f.upload("/api/v1/objects/import?format=ods", "a.csv", good), 400, `"field":"format"`)
	check("bad dry_run", f.upload("/api/v1/objects/import?dry_run=maybe", "a.csv", good), 400, `"field":"dry_run"`)
	check("malformed xlsx", f.upload("/api/v1/objects/import", "a.xlsx", []byte("PK\x03\x04 not really")), 400, "not a readable XLSX")
	check("xls", f.upload("/api/v1/objects/import", "a.xls", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1...")), 400, ".xls")
	check("unknown column", f.upload("/api/v1/objects/import", "a.csv", []byte("名称,所属区域,备注\n甲,南湖区,x\n")), 400, `unknown column \"备注\"`)

	req := httptest.NewRequest("POST", "/api/v1/objects/import", bytes.NewReader(good))
	req.Header.Set("Content-Type", "text/csv")
	check("not multipart", f.do(req), 400, `"field":"file"`)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("note", "x")
	mw.Close()
	req = httptest.NewRequest("POST", "/api/v1/objects/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	check("other field", f.do(req), 400, `"field":"note"`)

	body.Reset()
	mw = multipart.NewWriter(&body)
	mw.Close()
	req = httptest.NewRequest("POST", "/api/v1/objects/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	check("no file", f.do(req), 400, "is missing")

	t.Setenv("IMPORT_MAX_BYTES", "1000")
	small := bulkFixture{t: t, db: f.db, region: f.region, h: asAdmin(testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(f.db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}}))}
	big := bytes.Repeat([]byte("x"), 1001)
	check("too large", small.upload("/api/v1/objects/import", "a.csv", big), 413, "larger than the limit of 1000 bytes")
	check("huge", small.upload("/api/v1/objects/import", "a.csv", bytes.Repeat(big, 200)), 413, "larger than the limit")
	if rec := small.upload("/api/v1/objects/import?dry_run=1", "a.csv", good); rec.Code != 200 {
		t.Errorf("small file under a small limit: %d %s", rec.Code, rec.Body)
	}
}

func TestExportAPIRoundTrip(t *testing.T) {
	f := newBulkFixture(t)
	k := newCodes(3)
	rec := f.upload("/api/v1/objects/import", "a.csv", f.objectsCSV(
		[]string{k[0], `甲 "引号", 逗号`, f.region, "高", "矿山;土地"},
		[]string{k[1], "乙", f.region, "", ""},
		[]string{k[2], "丙", f.region, "低", "x"}))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for _, format := range []string{"csv", "xlsx"} {
		rec := f.do(httptest.NewRequest("GET", "/api/v1/objects/export?format="+format+"&region="+f.region, nil))
		if rec.Code != 200 {
			t.Fatalf("%s export: %d %s", format, rec.Code, rec.Body)
		}
		if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="objects.`+format+`"`) || !strings.Contains(cd, "filename*=UTF-8''%E6%A3%80") {
			t.Errorf("%s: Content-Disposition %q", format, cd)
		}
		export := rec.Body.Bytes()
		if format == "csv" {
			recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(export, []byte("\uFEFF")))).ReadAll()
			if err != nil || len(recs) != 4 || recs[0][0] != "统一社会信用代码/对象编码" {
				t.Fatalf("csv export %q: %v", recs, err)
			}
		}
		rec = f.upload("/api/v1/objects/import", "export."+format, export)
		var res bulk.Result
		decodeInto(t, rec, &res)
		if rec.Code != 200 || res.Unchanged != 3 || res.Created+res.Updated != 0 {
			t.Errorf("%s: re-import of the export: %d %s", format, rec.Code, rec.Body)
		}
	}
	rec = f.do(httptest.NewRequest("GET", "/api/v1/objects/export?region=火星", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"region"`) {
		t.Errorf("unknown region: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(httptest.NewRequest("GET", "/api/v1/inspectors/export?format=pdf", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"format"`) {
		t.Errorf("unknown format: %d %s", rec.Code, rec.Body)
	}
}

func TestImportTemplateAPI(t *testing.T) {
	f := newBulkFixture(t)
	for _, lib := range []string{"objects", "inspectors"} {
		rec := f.do(httptest.NewRequest("GET", "/api/v1/"+lib+"/import-template", nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != bulk.TemplateContentType {
			t.Fatalf("%s template: %d %s", lib, rec.Code, rec.Header())
		}
		wb, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := wb.GetRows(wb.GetSheetList()[0])
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s template rows %q: %v", lib, rows, err)
		}
		if want := map[string]string{"objects": "统一社会信用代码/对象编码", "inspectors": "工号"}[lib]; rows[0][0] != want {
			t.Errorf("%s template header %q", lib, rows[0])
		}
		rec = f.upload("/api/v1/"+lib+"/import?dry_run=true", "template.xlsx", rec.Body.Bytes())
		if rec.Code != 200 {
			t.Errorf("%s template does not import: %d %s", lib, rec.Code, rec.Body)
		}
	}
}
