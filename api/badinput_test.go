package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// badRequest is one malformed request of the generated test.
type badRequest struct {
	kind    string // which class of bad input
	method  string
	path    string // with the raw query
	header  map[string]string
	body    []byte
	ctype   string
	isField string // the field the problem must name, when known
}

// bodyTemplates are, per operation, where a bad string goes in its JSON
// body (%s is replaced by the JSON of the bad value); every write operation
// also gets the generic templates. The named fields are those the probes
// of issue 13 found reaching PostgreSQL.
var bodyTemplates = map[string][]string{
	"postResult":      {`{"result_code":"no_problem","method":"on_site","notes":%s}`, `{"result_code":%s,"method":"on_site"}`},
	"postReview":      {`{"approve":false,"comment":%s}`},
	"postFollowUp":    {`{"completed_on":"2026-12-01","actions":[%s]}`, `{"completed_on":"2026-12-01","actions":["order_correction"],"notes":%s}`},
	"postInspected":   {`{"completed_on":%s}`},
	"postExtension":   {`{"duty":"result_entry","working_days":3,"reason":%s}`},
	"createContact":   {`{"region_code":%s,"role":"county_officer","channel":"log","address":"a"}`, `{"region_code":"330402","role":"county_officer","channel":"log","address":%s}`},
	"simulateDraw":    {`{"rules":{"filter":{"regions":[%s]}}}`},
	"createBatch":     {`{"id":"B1","name":%s}`, `{"rules":{"filter":{"regions":[%s]}}}`},
	"createCase":      {`{"id":"K1","source":"complaint","summary":"s","object_key":%s}`},
	"postBeacon":      {`{"beacon":%s}`},
	"createObject":    {`{"key":%s,"name":"n","region_code":"330402"}`, `{"key":"K","name":%s,"region_code":"330402"}`},
	"createInspector": {`{"key":%s,"name":"n","region_code":"330402"}`},
	"declareConflict": {`{"inspector_key":%s,"object_key":"O","reason":"亲属"}`},
	"createPlan":      {`{"id":%s,"year":2027}`, `{"id":"P1","year":2027,"name":%s}`},
	"assignCase":      {`{"inspectors":[%s]}`},
}

var genericTemplates = []string{`{"name":%s}`, `{"id":%s}`}

// badStrings replace %s in a template: each must be refused.
var badStrings = []struct {
	kind, json string
	boundary   bool // refused whatever the operation
}{
	{"NUL in a string", `"a\u0000b"`, true},
	{"invalid UTF-8 in a string", "\"a\xffb\"", true},
	{"control character in a string", `"a\u0007b"`, true},
	{"huge string", `"` + strings.Repeat("长", maxTextRunes+1) + `"`, true},
	{"wrong type (object for a string)", `{"x":1}`, false},
}

// badBodies are whole bodies that no write operation takes.
var badBodies = []struct {
	kind, body string
	boundary   bool
}{
	{"malformed JSON", `{"a":`, true},
	{"cut-short JSON", `{"a":"b"`, true},
	{"trailing data", `{} {}`, true},
	{"NUL in a field name", `{"a\u0000":1}`, true},
	{"number beyond float64", `{"working_days":1e400}`, false},
	{"wrong type (array for an object)", `[]`, false},
	{"wrong type (string for an object)", `"x"`, false},
	{"unknown field", `{"zz_unknown_field":1}`, false},
	{"out-of-range number", `{"working_days":99999999999999999999999,"max_load":-1e30}`, false},
	{"impossible date", `{"completed_on":"2026-02-30","inspection_end":"2026-13-45"}`, false},
	{"null date", `{"completed_on":null}`, false},
	{"empty date", `{"completed_on":""}`, false},
}

// TestGeneratedBadInput walks api/openapi.json and sends every operation
// at least 8 kinds of bad input: in its path parameters, query (NUL,
// invalid UTF-8, unknown parameters, garbage cursors, limits out of
// range), headers and body (malformed JSON, wrong types, unknown fields,
// missing fields, NUL, invalid UTF-8 and huge strings, out-of-range numbers
// and impossible dates; bad files for the imports). Each must answer a 4xx
// problem+json, never a 5xx, and change no row of any table (a digest of
// every table before and after each operation).
func TestGeneratedBadInput(t *testing.T) {
	doc := loadOpenAPI(t)
	db := testenv.NewMigratedDB(t)
	h := fullHandlerOn(t, db)
	f := newScopeFixtureIn(t, db)
	before := tableDigest(t, db)
	total, fivexx := 0, 0
	paths := doc.Paths.Map()
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	sort.Strings(names)
	ops, fewest := 0, 1<<30
	for _, path := range names {
		for method, op := range paths[path].Operations() {
			ops++
			cases := badRequestsFor(f, method, path, op)
			fewest = min(fewest, len(cases))
			if len(cases) < 8 {
				t.Errorf("%s %s: only %d bad-input cases", method, path, len(cases))
			}
			opBefore := tableDigest(t, db)
			for _, bc := range cases {
				total++
				rec := sendBad(h, bc)
				what := fmt.Sprintf("%s %s [%s]: %d %.300s", bc.method, truncate(bc.path, 200), bc.kind, rec.Code, rec.Body)
				switch {
				case rec.Code >= 500:
					fivexx++
					t.Errorf("%s: a 5xx", what)
				case rec.Code < 400:
					t.Errorf("%s: accepted", what)
				case !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType):
					t.Errorf("%s: not problem+json but %q", what, rec.Header().Get("Content-Type"))
				case bc.isField != "" && !strings.Contains(rec.Body.String(), bc.isField):
					t.Errorf("%s: the problem does not name %s", what, bc.isField)
				}
			}
			if after := tableDigest(t, db); after != opBefore {
				t.Errorf("%s %s: refused requests changed rows:\n%s", method, path, diffDigest(opBefore, after))
			}
		}
	}
	if after := tableDigest(t, db); after != before {
		t.Errorf("rows changed:\n%s", diffDigest(before, after))
	}
	t.Logf("%d bad-input cases over %d operations (at least %d each): %d answered 5xx; rows written by refused requests: 0 unless reported above", total, ops, fewest, fivexx)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// caller picks, from the scope matrix, a role that may call the operation,
// and the fixtures within its scope.
func caller(f scopeFixture, opID string) (token string, own bool) {
	allowed := scopeMatrix[opID]
	switch {
	case allowed == "P":
		return "", false
	case strings.Contains(allowed, "A"):
		return "admin", false
	case strings.ContainsAny(allowed, "Kk"):
		return "county_officer/330402", true
	case strings.ContainsAny(allowed, "Dd"):
		return "department_officer/" + f.ownDept, true
	}
	return "inspector/" + f.ownInspector, true
}

// ownPath fills an OpenAPI path with the fixtures of county 330402.
func (f scopeFixture) ownPath(p string) string {
	key := f.ownObject
	if strings.HasPrefix(p, "/api/v1/inspectors/") {
		key = f.ownInspector
	}
	return strings.NewReplacer("{id}", f.batch, "{county}", "330402", "{key}", key, "{object_key}", f.ownObject,
		"{code}", f.item, "{version}", "1", "{year}", "2025", "{name}", "manifest.json").Replace(p)
}

func badRequestsFor(f scopeFixture, method, path string, op *openapi3.Operation) []badRequest {
	token, own := caller(f, op.OperationID)
	url := f.path(path)
	if own {
		url = f.ownPath(path)
	}
	hdr := func(extra ...string) map[string]string {
		m := map[string]string{}
		if token != "" {
			m["Authorization"] = "Bearer " + token
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	var out []badRequest
	add := func(kind, u string, h map[string]string, body []byte, ctype, field string) {
		out = append(out, badRequest{kind: kind, method: method, path: u, header: h, body: body, ctype: ctype, isField: field})
	}
	// The same request must be bad for this reason only: a body that the
	// operation could take is never sent, so the case is refused for its
	// bad part or for a missing one, never accepted.
	body, ctype := []byte(nil), ""
	if op.RequestBody != nil {
		body, ctype = []byte(`{"zz_unknown_field":1}`), "application/json"
	}
	// Path parameters.
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.Trim(s, "{}")
		bads := []struct{ kind, v string }{{"NUL in path parameter", "%00"}, {"invalid UTF-8 in path parameter", "%FF"}, {"control character in path parameter", "a%01b"}}
		if name == "version" || name == "year" {
			bads = append(bads, struct{ kind, v string }{"number out of range in path parameter", "99999999999999999999"},
				struct{ kind, v string }{"negative number in path parameter", "-1"}, struct{ kind, v string }{"not a number in path parameter", "x1"})
		}
		for _, bad := range bads {
			parts := strings.Split(url, "/")
			parts[i] = bad.v
			add(bad.kind+" "+name, strings.Join(parts, "/"), hdr(), body, ctype, name)
		}
	}
	// Query: unknown, malformed and bad values of each parameter.
	add("unknown query parameter", url+"?zz_unknown=1", hdr(), body, ctype, "zz_unknown")
	add("NUL in a query parameter name", url+"?a%00b=1", hdr(), body, ctype, "")
	add("malformed query escape", url+"?q=%zz", hdr(), body, ctype, "")
	for _, p := range op.Parameters {
		if p.Value == nil || p.Value.In != "query" {
			continue
		}
		n := p.Value.Name
		add("NUL in query "+n, url+"?"+n+"=%00", hdr(), body, ctype, n)
		add("invalid UTF-8 in query "+n, url+"?"+n+"=%FF%FE", hdr(), body, ctype, n)
		add("huge query "+n, url+"?"+n+"="+strings.Repeat("x", maxTextRunes+1), hdr(), body, ctype, n)
		switch n {
		case "cursor":
			for _, cur := range []string{"AA", "!!!", "_w", strings.Repeat("QUFB", 400)} { // NUL, not base64, 0xFF, over-long
				add("garbage cursor "+cur[:min(len(cur), 4)], url+"?cursor="+cur, hdr(), body, ctype, "cursor")
			}
		case "limit":
			for _, l := range []string{"0", "-1", "501", "abc", "99999999999999999999"} {
				add("limit out of range "+l, url+"?limit="+l, hdr(), body, ctype, "limit")
			}
		case "year":
			add("impossible year", url+"?year=99999", hdr(), body, ctype, "year")
		case "on", "start":
			add("impossible date "+n, url+"?"+n+"=2026-02-30", hdr(), body, ctype, n)
		case "working_days", "round":
			add("number out of range "+n, url+"?"+n+"=99999999999999999999", hdr(), body, ctype, n)
		}
	}
	// Headers the application reads.
	add("invalid UTF-8 in If-Match", url, hdr("If-Match", "\"\xff\""), body, ctype, "If-Match")
	add("control character in Idempotency-Key", url, hdr("Idempotency-Key", "k\x01"), body, ctype, "Idempotency-Key")
	add("NUL in Authorization", url, hdr("Authorization", "Bearer a\x00b"), body, ctype, "Authorization")
	add("control character in Accept", url, hdr("Accept", "application/json\x1b"), body, ctype, "Accept")
	add("invalid UTF-8 in a query value", url+"?q=%C3%28", hdr(), body, ctype, "")
	add("NUL in a query value", url+"?q=a%00", hdr(), body, ctype, "")
	add("invalid UTF-8 in Idempotency-Key", url, hdr("Idempotency-Key", "k\xc3\x28"), body, ctype, "Idempotency-Key")
	if op.RequestBody == nil {
		return out
	}
	required := op.RequestBody.Value != nil && op.RequestBody.Value.Required
	if strings.HasSuffix(path, "/import") {
		return append(out, badUploads(method, url, hdr())...)
	}
	// What no operation takes: refused at the boundary.
	for _, b := range badBodies {
		if b.boundary {
			add(b.kind, url, hdr(), []byte(b.body), "application/json", "")
		}
	}
	for _, tpl := range append(bodyTemplates[op.OperationID], genericTemplates...) {
		for _, s := range badStrings {
			if s.boundary || required {
				add(s.kind, url, hdr(), []byte(strings.Replace(tpl, "%s", s.json, 1)), "application/json", "")
			}
		}
	}
	if !required {
		return out // the operation may ignore a well-formed body
	}
	// What this operation does not take: refused by its handler.
	for _, b := range badBodies {
		if !b.boundary {
			add(b.kind, url, hdr(), []byte(b.body), "application/json", "")
		}
	}
	add("missing body", url, hdr(), nil, "application/json", "")
	add("empty object (missing required fields)", url, hdr(), []byte(`{}`), "application/json", "")
	for _, c := range schemaCases(op) {
		// With an If-Match, so that an update reads the body.
		add(c.kind, url, hdr("If-Match", `"1"`), c.body, "application/json", c.field)
	}
	return out
}

// schemaCases are the bodies the document's schema of the operation's
// body refuses, each the schema's example with one fault: a field of
// another type (named by the problem), or a required field left out.
func schemaCases(op *openapi3.Operation) []struct {
	kind, field string
	body        []byte
} {
	var out []struct {
		kind, field string
		body        []byte
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Schema.Value.Examples) == 0 {
		return nil
	}
	sc := mt.Schema.Value
	example, ok := sc.Examples[0].(map[string]any)
	if !ok {
		return nil
	}
	with := func(name string, v any, drop bool) []byte {
		m := maps.Clone(example)
		if drop {
			delete(m, name)
		} else {
			m[name] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, name := range slices.Sorted(maps.Keys(sc.Properties)) {
		p := sc.Properties[name].Value
		if p == nil || p.Type == nil {
			continue
		}
		// A value no JSON type of the field takes.
		var wrong any = map[string]any{"x": 1}
		if p.Type.Includes("object") {
			wrong = "x"
		}
		out = append(out, struct {
			kind, field string
			body        []byte
		}{"wrong type of " + name + " (the document's schema)", name, with(name, wrong, false)})
	}
	for _, name := range sc.Required {
		out = append(out, struct {
			kind, field string
			body        []byte
		}{"required " + name + " left out (the document's schema)", "", with(name, nil, true)})
	}
	return out
}

// badUploads are files no import takes.
func badUploads(method, url string, hdr map[string]string) []badRequest {
	file := func(name string, content []byte, extraField bool) ([]byte, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		if extraField {
			_ = w.WriteField("comment", "x")
		}
		fw, _ := w.CreateFormFile("file", name)
		_, _ = fw.Write(content)
		_ = w.Close()
		return b.Bytes(), w.FormDataContentType()
	}
	var out []badRequest
	for _, c := range []struct {
		kind, name string
		content    []byte
		extra      bool
		query      string
	}{
		{"NUL in a cell", "a.csv", []byte("key,name,region_code\nK1,a\x00b,330402\n"), false, ""},
		{"invalid UTF-8 in a cell", "a.csv", []byte("key,name,region_code\nK1,a\xffb,330402\n"), false, "?encoding=utf-8"},
		{"header without a known column", "a.csv", []byte("foo,bar\n1,2\n"), false, ""},
		{"NUL in the header", "a.csv", []byte("ke\x00y,name\n1,2\n"), false, ""},
		{"empty file", "a.csv", nil, false, ""},
		{"not a spreadsheet", "a.xlsx", []byte("PK\x03\x04garbage"), false, ""},
		{"an extra form field", "a.csv", []byte("key,name\n"), true, ""},
	} {
		body, ct := file(c.name, c.content, c.extra)
		out = append(out, badRequest{kind: "upload: " + c.kind, method: method, path: url + c.query, header: hdr, body: body, ctype: ct})
	}
	out = append(out,
		badRequest{kind: "upload: JSON instead of a file", method: method, path: url, header: hdr, body: []byte(`{"file":"x"}`), ctype: "application/json"},
		badRequest{kind: "upload: broken multipart", method: method, path: url, header: hdr, body: []byte("--x\r\nbroken"), ctype: "multipart/form-data; boundary=x"})
	return out
}

func sendBad(h http.Handler, bc badRequest) *httptest.ResponseRecorder {
	req := httptest.NewRequest(bc.method, "http://example.test/", bytes.NewReader(bc.body))
	// Set the raw path and query as sent, bytes included.
	path, query, _ := strings.Cut(bc.path, "?")
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = unescapeLoose(path), path, query
	req.RequestURI = bc.path
	if bc.body == nil {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	if bc.ctype != "" {
		req.Header.Set("Content-Type", bc.ctype)
	}
	for k, v := range bc.header {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// unescapeLoose decodes %XX escapes, keeping anything else as it is.
func unescapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s)+0 && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// tableDigest is the row count and an MD5 of the rows of every table,
// one line a table.
func tableDigest(t testing.TB, db *sqlx.DB) string {
	t.Helper()
	var tables []string
	if err := db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tbl := range tables {
		var line string
		q := fmt.Sprintf(`SELECT count(*)::text || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM %q t`, tbl)
		if err := db.QueryRowContext(context.Background(), q).Scan(&line); err != nil {
			t.Fatalf("digest %s: %v", tbl, err)
		}
		fmt.Fprintf(&b, "%s %s\n", tbl, line)
	}
	return b.String()
}

func diffDigest(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			out = append(out, al[i]+" -> "+bl[i])
		}
	}
	return strings.Join(out, "\n")
}
