package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func newTestHandler(t testing.TB, ready map[string]Checker) http.Handler {
	return testHandler(t, Deps{Log: zap.NewNop(), Registry: prometheus.NewRegistry(), Ready: ready, Version: "test"})
}

func do(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestUnknownRouteIsAProblem(t *testing.T) {
	rec := do(newTestHandler(t, nil), "GET", "/api/v1/nothing", map[string]string{"X-Request-ID": "abc-123"})
	if rec.Code != 404 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %q", ct)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 404 || p.RequestID != "abc-123" || p.Instance != "/api/v1/nothing" || p.Detail == "" {
		t.Errorf("problem = %+v", p)
	}
	if rec.Header().Get("X-Request-ID") != "abc-123" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", rec.Header())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	rec := do(newTestHandler(t, nil), "POST", "/healthz", nil)
	if rec.Code != 405 || !strings.Contains(rec.Body.String(), "POST is not allowed") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestRequestIDGeneratedWhenAbsentOrInsane(t *testing.T) {
	h := newTestHandler(t, nil)
	for _, id := range []string{"", "has space", strings.Repeat("x", 65)} {
		rec := do(h, "GET", "/healthz", map[string]string{"X-Request-ID": id})
		got := rec.Header().Get("X-Request-ID")
		if got == "" || got == id {
			t.Errorf("request id for %q = %q", id, got)
		}
	}
}

func TestReadyz(t *testing.T) {
	ok := CheckFunc(func(context.Context) error { return nil })
	bad := CheckFunc(func(context.Context) error { return errors.New("connection refused") })
	if rec := do(newTestHandler(t, map[string]Checker{"database": ok, "temporal": ok}), "GET", "/readyz", nil); rec.Code != 200 {
		t.Errorf("all ok: %d", rec.Code)
	}
	rec := do(newTestHandler(t, map[string]Checker{"database": ok, "temporal": bad}), "GET", "/readyz", nil)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("temporal down: %d %s", rec.Code, rec.Body)
	}
}

func TestMetricsCountRoutesNotPaths(t *testing.T) {
	h := newTestHandler(t, nil)
	do(h, "GET", "/healthz", nil)
	do(h, "GET", "/no/such/1", nil)
	body := do(h, "GET", "/metrics", nil).Body.String()
	if !strings.Contains(body, `spotcheck_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Errorf("healthz not counted:\n%s", body)
	}
	if strings.Contains(body, "/no/such/1") || !strings.Contains(body, `route="unmatched"`) {
		t.Error("raw path leaked into metric labels")
	}
}

func TestPanicBecomesProblem(t *testing.T) {
	e := testEngine(t, Deps{Log: zap.NewNop(), Registry: prometheus.NewRegistry()})
	e.GET("/boom", func(*gin.Context) { panic("bug") })
	rec := do(checked(t, e), "GET", "/boom", nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "request ID") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// The authenticated API is limited per principal (bursts of three times
// the rate), apart from the public one, and its answers are never cached.
func TestPrincipalRateLimitAndNoStore(t *testing.T) {
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}, APIRateLimit: 1})
	var codes []int
	for range 4 {
		rec := do(h, "GET", "/api/v1/me", bearer("coordinator"))
		codes = append(codes, rec.Code)
		if rec.Code == 200 && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q on an authenticated answer", rec.Header().Get("Cache-Control"))
		}
		if rec.Code == 429 && (rec.Header().Get("Retry-After") == "" || !strings.HasPrefix(rec.Header().Get("Content-Type"), problemContentType)) {
			t.Errorf("429 without Retry-After or problem: %v", rec.Header())
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 {
		t.Errorf("statuses %v, want three 200 then 429", codes)
	}
	// Another principal has its own bucket.
	if rec := do(h, "GET", "/api/v1/me", bearer("auditor")); rec.Code != 200 {
		t.Errorf("another principal: %d", rec.Code)
	}
}
