// Package apicontract holds the API to its OpenAPI document in tests: Wrap
// puts a handler behind a check of every request and every response
// against the document (kin-openapi's openapi3filter), and fails the test
// on any mismatch. It is imported by tests only.
package apicontract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// T is the part of testing.TB the check reports to.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Checked reports whether h is already behind Wrap.
func Checked(h http.Handler) bool {
	_, ok := h.(*checker)
	return ok
}

// Load parses and validates an OpenAPI document.
func Load(doc []byte) (*openapi3.T, error) {
	d, err := openapi3.NewLoader().LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := d.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	return d, nil
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*openapi3.T{}
)

// DocumentPath is where the API serves its own document.
const DocumentPath = "/api/v1/openapi.json"

// Wrap returns h behind the contract check of the document h itself serves
// at DocumentPath.
func Wrap(t T, h http.Handler) http.Handler {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, DocumentPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", DocumentPath, rec.Code)
		return nil
	}
	return WrapDoc(t, rec.Body.Bytes(), h)
}

// WrapDoc returns h behind the contract check of doc (a JSON OpenAPI
// document). Paths outside the document's space (the portal's and the
// console's pages) pass unchecked.
func WrapDoc(t T, doc []byte, h http.Handler) http.Handler {
	t.Helper()
	if Checked(h) {
		return h
	}
	cacheMu.Lock()
	d, ok := cache[string(doc)]
	if !ok {
		var err error
		if d, err = Load(doc); err != nil {
			cacheMu.Unlock()
			t.Fatalf("%v", err)
			return nil
		}
		cache[string(doc)] = d
	}
	cacheMu.Unlock()
	return &checker{t: t, doc: d, next: h, routes: compile(d)}
}

type checker struct {
	t      T
	doc    *openapi3.T
	next   http.Handler
	routes []route
}

type route struct {
	path     string
	segments []string
	literals int
}

func compile(d *openapi3.T) []route {
	var rs []route
	for p := range d.Paths.Map() {
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		n := 0
		for _, s := range segs {
			if !isParam(s) {
				n++
			}
		}
		rs = append(rs, route{path: p, segments: segs, literals: n})
	}
	return rs
}

func isParam(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }

// find is the document's path of an escaped request path and its path
// parameters, the most literal match first (…/progress.xlsx before …/{key}).
func (c *checker) find(escaped string) (string, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	best, bestN := -1, -1
	var params map[string]string
	for i, r := range c.routes {
		if len(r.segments) != len(segs) || r.literals <= bestN {
			continue
		}
		ps := map[string]string{}
		ok := true
		for j, s := range r.segments {
			if isParam(s) {
				v, err := url.PathUnescape(segs[j])
				if err != nil || v == "" {
					ok = false
					break
				}
				ps[s[1:len(s)-1]] = v
			} else if s != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			best, bestN, params = i, r.literals, ps
		}
	}
	if best < 0 {
		return "", nil
	}
	return c.routes[best].path, params
}

// contractual says whether a path belongs to the document's space: the
// API, the public disclosure and the operational endpoints.
func contractual(path string) bool {
	for _, p := range []string{"/api/", "/public/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

func (c *checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// CORS preflights are answered by middleware before any route.
	if !contractual(r.URL.Path) || r.Method == http.MethodOptions {
		c.next.ServeHTTP(w, r)
		return
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	if msg := c.check(r, body, rec); msg != "" {
		shown := "(not text)"
		if ct := rec.Header().Get("Content-Type"); strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/") {
			shown = rec.Body.String()
		}
		c.t.Errorf("API contract: %s %s → %d: %s\nresponse: %.600s", r.Method, r.URL.RequestURI(), rec.Code, msg, shown)
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// check is what is wrong with one exchange, or "".
func (c *checker) check(r *http.Request, body []byte, rec *httptest.ResponseRecorder) string {
	status := rec.Code
	ct := rec.Header().Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	path, params := c.find(r.URL.EscapedPath())
	var op *openapi3.Operation
	var item *openapi3.PathItem
	if path != "" {
		item = c.doc.Paths.Value(path)
		op = item.GetOperation(r.Method)
	}
	if op == nil {
		// Only a refusal may answer what the document does not name.
		if status >= 400 && mt == "application/problem+json" {
			return ""
		}
		return "the route is not in the document, yet it is answered " + strconv.Itoa(status) + " " + ct
	}
	seen(op.OperationID, status)
	rt := &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: r.Method, Operation: op}
	// The request as the handler read it.
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		// The server reads a body without a type as JSON.
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && status < 400 {
		return fmt.Sprintf("the request does not match the document, yet it is answered %d: %v", status, reqErr)
	}
	documented := op.Responses.Status(status) != nil
	if status >= 400 && !documented {
		if mt != "application/problem+json" {
			return "an error that is not application/problem+json but " + strconv.Quote(ct)
		}
	} else if !documented {
		return "status " + strconv.Itoa(status) + " is not documented for " + op.OperationID
	}
	resp := op.Responses.Status(status)
	if resp == nil {
		resp = op.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return "no response documented for status " + strconv.Itoa(status)
	}
	content := resp.Value.Content
	if len(content) == 0 {
		if rec.Body.Len() > 0 {
			return "a body where the document says none"
		}
		return ""
	}
	if content.Get(ct) == nil {
		return fmt.Sprintf("content type %q is not one the document gives (%v)", ct, keys(content))
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if !strings.HasSuffix(mt, "json") {
		// Files (CSV, XLSX, TSV, archive members): the status and type only.
		opts.ExcludeResponseBody = true
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "the response does not match the document: " + err.Error()
	}
	return ""
}

var seenMu sync.Mutex

// seen appends "operationId status" to the file APICONTRACT_SEEN names, if
// any: which operations and answers the tests exercised.
func seen(op string, status int) {
	name := os.Getenv("APICONTRACT_SEEN")
	if name == "" {
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %d\n", op, status)
}

func keys(c openapi3.Content) []string {
	var ks []string
	for k := range c {
		ks = append(ks, k)
	}
	return ks
}
