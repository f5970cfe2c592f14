package api

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
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
