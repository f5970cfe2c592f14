package api

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// testHandler is the handler every API test calls: NewHandler behind the
// check of each request and response against api/openapi.json, so that a
// test exercising a route also holds the document to the code.
func testHandler(t testing.TB, d Deps) http.Handler {
	t.Helper()
	return checked(t, testEngine(t, d))
}

// checked puts h behind the check of api/openapi.json.
func checked(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	return apicontract.WrapDoc(t, openAPIDocument, h)
}

// testEngine is the unchecked engine, for the tests that list its routes
// or add a route of their own; they call testHandler for requests.
func testEngine(t testing.TB, d Deps) *gin.Engine {
	t.Helper()
	h := NewHandler(d)
	e, ok := h.(*gin.Engine)
	if !ok {
		t.Fatalf("NewHandler returns %T, not *gin.Engine", h)
	}
	return e
}

// TestContractCatchesADrift runs a real route against a copy of
// api/openapi.json in which one field of its answer has another type: the
// check must report it, so that it cannot pass silently.
func TestContractCatchesADrift(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	principal := doc["components"].(map[string]any)["schemas"].(map[string]any)["Principal"].(map[string]any)
	principal["properties"].(map[string]any)["subject"] = map[string]any{"type": "integer"}
	drifted, _ := json.Marshal(doc)
	h := testEngine(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	for _, c := range []struct {
		doc  []byte
		want bool
	}{{openAPIDocument, false}, {drifted, true}} {
		rt := &reports{}
		rec := do(apicontract.WrapDoc(rt, c.doc, h), "GET", "/api/v1/me", bearer("coordinator"))
		if rec.Code != 200 {
			t.Fatalf("GET /api/v1/me: %d %s", rec.Code, rec.Body)
		}
		if got := len(rt.errs) > 0; got != c.want {
			t.Errorf("drifted %v: reports %q", c.want, rt.errs)
		}
	}
}

type reports struct{ errs []string }

func (r *reports) Helper()                      {}
func (r *reports) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *reports) Fatalf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }

// TestOpenAPIDescribesEveryBody: no request body is a bare object, and
// every 2xx JSON answer has a schema that says something.
func TestOpenAPIDescribesEveryBody(t *testing.T) {
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			what := method + " " + path + " (" + op.OperationID + ")"
			if rb := op.RequestBody; rb != nil {
				for ct, mt := range rb.Value.Content {
					if ct == "multipart/form-data" {
						continue
					}
					if mt.Schema == nil || mt.Schema.Value == nil || len(mt.Schema.Value.Properties) == 0 {
						t.Errorf("%s: the %s request body has no properties", what, ct)
					}
				}
			}
			for code, resp := range op.Responses.Map() {
				if !strings.HasPrefix(code, "2") || resp.Value == nil {
					continue
				}
				for ct, mt := range resp.Value.Content {
					if !strings.Contains(ct, "json") {
						continue
					}
					if name := closedSchema(mt.Schema, map[*openapi3.Schema]bool{}); name != "" {
						t.Errorf("%s %s: %s is closed (additionalProperties: false) at %s; answers stay open to new fields", what, code, ct, name)
					}
					s := mt.Schema
					if s == nil || s.Value == nil {
						t.Errorf("%s %s: %s has no schema", what, code, ct)
						continue
					}
					v := s.Value
					if len(v.Properties) == 0 && len(v.AnyOf) == 0 && v.Description == "" {
						t.Errorf("%s %s: %s is a bare schema", what, code, ct)
					}
				}
			}
		}
	}
}

// closedSchema names where s, or a schema within it, refuses unknown
// properties; "" if nowhere.
func closedSchema(s *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) string {
	if s == nil || s.Value == nil || seen[s.Value] {
		return ""
	}
	v := s.Value
	seen[v] = true
	if v.AdditionalProperties.Has != nil && !*v.AdditionalProperties.Has {
		return s.Ref + " (this schema)"
	}
	subs := []*openapi3.SchemaRef{v.Items, v.AdditionalProperties.Schema}
	for _, p := range v.Properties {
		subs = append(subs, p)
	}
	subs = append(append(append(subs, v.AnyOf...), v.OneOf...), v.AllOf...)
	for _, sub := range subs {
		if name := closedSchema(sub, seen); name != "" {
			return name
		}
	}
	return ""
}

// TestOpenAPIExamplesAreValid: each example of a schema is an instance of
// it, so that a caller copying one sends a valid body.
func TestOpenAPIExamplesAreValid(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	for name, s := range doc.Components.Schemas {
		for i, ex := range s.Value.Examples {
			n++
			if err := s.Value.VisitJSON(ex, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("example %d of %s: %v", i, name, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("%d examples, want one for each request body at least", n)
	}
}

// TestEveryTestHandlerIsChecked: the tests of the repository build the
// API only through constructors that put it behind the contract check.
func TestEveryTestHandlerIsChecked(t *testing.T) {
	allowed := map[string]bool{"api/contract_test.go": true,
		// The benchmark measures the handler's own latency.
		"bench/console/dashboard_test.go": true}
	err := filepath.WalkDir("..", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel("..", p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			// An area's routes on an engine of its own are checked too.
			if strings.HasPrefix(rel, "api"+string(filepath.Separator)) && strings.Contains(line, "gin.New()") &&
				!strings.Contains(line, "// not an API route") && !strings.Contains(strings.Join(lines[i:min(i+25, len(lines))], "\n"), "checked(t, ") {
				t.Errorf("%s:%d builds routes without the contract check (return checked(t, r)): %s", rel, i+1, strings.TrimSpace(line))
			}
			// A live system of the CLI's tests (serve with the API role).
			if strings.HasPrefix(rel, filepath.Join("cmd", "spotcheck")) && strings.Contains(line, "serve(sctx") && !strings.Contains(line, "contractChecked(") {
				t.Errorf("%s:%d serves the API without the contract check (pass contractChecked(t, roles{…})): %s", rel, i+1, strings.TrimSpace(line))
			}
			if !strings.Contains(line, "NewHandler(") || allowed[filepath.ToSlash(rel)] || strings.Contains(line, "apicontract.") {
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			t.Errorf("%s:%d builds the API without the contract check (use testHandler, or apicontract.Wrap): %s", rel, i+1, strings.TrimSpace(line))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
