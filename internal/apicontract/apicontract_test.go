package apicontract

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorder is a T that keeps what the check reports.
type recorder struct{ errs []string }

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) {
	r.errs = append(r.errs, "fatal: "+fmt.Sprintf(f, args...))
}
func (r *recorder) failed(want string) bool {
	for _, e := range r.errs {
		if strings.Contains(e, want) {
			return true
		}
	}
	return false
}

const doc = `{
  "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
  "paths": {
    "/api/v1/things/{id}": {
      "get": {"operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "default": {"description": "problem", "content": {"application/problem+json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}}}}
        }},
      "put": {"operationId": "putThing",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"],
          "properties": {"name": {"type": "string"}}, "additionalProperties": false}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "default": {"description": "problem", "content": {"application/problem+json": {"schema": {"type": "object"}}}}}}
    },
    "/api/v1/things/{id}/file.xlsx": {
      "get": {"operationId": "thingFile",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string"}}}}}}
    }
  },
  "components": {"schemas": {"Thing": {"type": "object", "required": ["id", "count"],
    "properties": {"id": {"type": "string"}, "count": {"type": "integer"}, "kind": {"type": "string", "enum": ["a", "b"]}}}}}
}`

// serve answers every request with status, content type and body.
func serve(status int, ct, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
}

// TestWrapFailsOnDrift: each drift between a handler and its document is
// reported, and an exchange that keeps to it is not.
func TestWrapFailsOnDrift(t *testing.T) {
	const js, problem = "application/json", "application/problem+json"
	for _, c := range []struct {
		name, method, path, body string
		h                        http.Handler
		want                     string // "" = no report
	}{
		{"conforms", "GET", "/api/v1/things/1", "", serve(200, js, `{"id":"1","count":2,"kind":"a"}`), ""},
		{"a field of the wrong type", "GET", "/api/v1/things/1", "", serve(200, js, `{"id":"1","count":"2"}`), "does not match the document"},
		{"a required field missing", "GET", "/api/v1/things/1", "", serve(200, js, `{"id":"1"}`), "missing property 'count'"},
		{"a value outside the enum", "GET", "/api/v1/things/1", "", serve(200, js, `{"id":"1","count":2,"kind":"c"}`), "does not match the document"},
		{"an undocumented status", "GET", "/api/v1/things/1", "", serve(201, js, `{"id":"1","count":2}`), "status 201 is not documented"},
		{"an error that is not a problem", "GET", "/api/v1/things/1", "", serve(404, js, `{"status":404}`), "not application/problem+json"},
		{"a problem", "GET", "/api/v1/things/1", "", serve(404, problem, `{"status":404}`), ""},
		{"an undocumented route answered", "GET", "/api/v1/other", "", serve(200, js, `{}`), "not in the document"},
		{"an undocumented route refused", "GET", "/api/v1/other", "", serve(404, problem, `{"status":404}`), ""},
		{"an undocumented method answered", "DELETE", "/api/v1/things/1", "", serve(200, js, `{}`), "not in the document"},
		{"a request the document refuses, accepted", "PUT", "/api/v1/things/1", `{"name":"x","extra":1}`, serve(200, js, `{"id":"1","count":2}`), "request does not match"},
		{"a request the document refuses, refused", "PUT", "/api/v1/things/1", `{}`, serve(400, problem, `{"status":400}`), ""},
		{"a file of the documented type", "GET", "/api/v1/things/1/file.xlsx", "", serve(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK"), ""},
		{"a file of another type", "GET", "/api/v1/things/1/file.xlsx", "", serve(200, "text/csv", "a,b"), `content type "text/csv" is not one the document gives`},
		{"pages pass unchecked", "GET", "/console/x", "", serve(200, "text/html", "<p>"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt := &recorder{}
			h := WrapDoc(rt, []byte(doc), c.h)
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case c.want == "" && len(rt.errs) > 0:
				t.Errorf("reported %q", rt.errs)
			case c.want != "" && !rt.failed(c.want):
				t.Errorf("reports %q, want one with %q", rt.errs, c.want)
			}
			if rec.Code != 0 && rec.Body.Len() == 0 && c.method == "GET" {
				t.Errorf("the response did not reach the caller")
			}
		})
	}
}

// TestWrapFetchesTheServedDocument: Wrap holds a handler to the document
// it serves itself.
func TestWrapFetchesTheServedDocument(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(DocumentPath, serve(200, "application/json", doc))
	mux.Handle("/api/v1/things/1", serve(200, "application/json", `{"id":1}`))
	rt := &recorder{}
	h := Wrap(rt, mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/things/1", nil))
	if !rt.failed("does not match the document") {
		t.Errorf("reports %q", rt.errs)
	}
	if !Checked(h) || Checked(mux) {
		t.Error("Checked does not tell a wrapped handler")
	}
}
