package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/telemetry"
)

func TestWorkerHTTP(t *testing.T) {
	t.Setenv("WORKER_ACTIVITY_POLLERS", "3")
	cfg := config.Register(flag.NewFlagSet("t", flag.ContinueOnError))
	reg := telemetry.NewRegistry()
	if err := registerWorkerSettings(reg, cfg); err != nil {
		t.Fatal(err)
	}
	temporalDown := errors.New("connection refused")
	var temporalErr error
	h := workerHandler(reg, map[string]api.Checker{
		"database": api.CheckFunc(func(context.Context) error { return nil }),
		"temporal": api.CheckFunc(func(context.Context) error { return temporalErr }),
	})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"temporal":"ok"`) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	temporalErr = temporalDown
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz with Temporal down: %d %s, want 503 naming the failure", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"role":"worker"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	_, body := get("/metrics")
	for _, want := range []string{`spotcheck_worker_setting{setting="activity_pollers"} 3`, `spotcheck_worker_setting{setting="sticky_cache_size"} 10000`,
		`spotcheck_worker_setting{setting="workflow_concurrency"} 1000`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
