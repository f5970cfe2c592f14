package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
)

// workerHandler serves what a `spotcheck worker` is watched by, without
// the API: /healthz (the process answers), /readyz (database and Temporal
// answer; Kubernetes readiness and the systemd watchdog use it) and /metrics
// (the SDK's worker metrics and the settings).
func workerHandler(reg *prometheus.Registry, ready map[string]api.Checker) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "role": "worker", "version": buildVersion()})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, checks := http.StatusOK, map[string]string{}
		for name, c := range ready {
			checks[name] = "ok"
			if err := c.Check(ctx); err != nil {
				status, checks[name] = http.StatusServiceUnavailable, err.Error()
			}
		}
		word := "ok"
		if status != http.StatusOK {
			word = "unavailable"
		}
		writeJSON(w, status, map[string]any{"status": word, "checks": checks})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveWorkerHTTP serves workerHandler on addr until ctx ends; a port in
// use fails the start, as for the API.
func serveWorkerHTTP(ctx context.Context, addr string, h http.Handler, drain time.Duration, log *zap.Logger) (<-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w; stop the other process or set WORKER_HTTP_ADDR", addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, ln, h, drain, log.Named("worker-http")) }()
	return done, nil
}
