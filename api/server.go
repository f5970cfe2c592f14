// Package api is spotcheck's HTTP interface: the JSON API under /api/v1 for
// coordinators, counties, inspectors and API callers, the public disclosure
// endpoints, and the operational endpoints /healthz, /readyz and /metrics.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Checker reports whether a dependency can serve requests now.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckFunc adapts a function to Checker.
type CheckFunc func(ctx context.Context) error

// Check calls f.
func (f CheckFunc) Check(ctx context.Context) error { return f(ctx) }

// Deps are what the API needs from the rest of the system.
type Deps struct {
	Log *zap.Logger
	// Services read and write the system of record (backend.New): the
	// API's handlers hold them, never a connection.
	Services *backend.Services
	// Temporal starts and signals workflows; TaskQueue is the worker's queue.
	Temporal  client.Client
	TaskQueue string
	Registry  *prometheus.Registry
	// Ready lists the dependencies /readyz checks, by name.
	Ready map[string]Checker
	// Version is reported by /healthz.
	Version string
	// Auth authenticates the callers of /api/v1 (see authenticate).
	Auth Authenticator
	// CORSOrigins may call the API from a browser; none = CORS off.
	CORSOrigins []string
	// PublicRateLimit is requests a second per client IP on /public
	// and the portal's pages together (bursts of three times that); 0 =
	// unlimited.
	PublicRateLimit int
	// APIRateLimit is requests a second per principal on /api/v1 (bursts
	// of three times that); 0 = unlimited.
	APIRateLimit int
	// ProgressCache is how long a batch's progress may be served from
	// memory; 0 reads the counters every time.
	ProgressCache time.Duration
	// Pages, if set, mounts the public portal's pages at / (package web).
	Pages interface{ Mount(gin.IRoutes) }
	// Console, if set, mounts the signed-in people's pages at /console
	// (package web); they call this handler, the whole API, in process.
	Console interface {
		Mount(*gin.RouterGroup, http.Handler)
	}
}

// NewHandler builds the HTTP handler with every route and middleware.
func NewHandler(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Keys may contain "/" (project codes); route on the escaped path.
	r.UseRawPath = true
	r.Use(requestID(), recovery(d.Log), securityHeaders(), cors(d.CORSOrigins), httpMetrics(d.Registry), accessLog(d.Log), inputBoundary())
	r.NoRoute(func(c *gin.Context) {
		abort(c, http.StatusNotFound, "not-found", fmt.Sprintf("No resource at %s.", c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method-not-allowed", fmt.Sprintf("%s is not allowed on %s.", c.Request.Method, c.Request.URL.Path))
	})

	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "version": d.Version})
	})
	r.GET("/readyz", readyz(d.Ready))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry})))

	if d.Services == nil {
		// No database: health, metrics and the table of routes only (tests).
		d.Services = backend.New(nil, nil)
	}
	s := &Server{d: d, log: d.Log}
	if d.ProgressCache > 0 {
		s.progressCache = newProgressCache(d.ProgressCache)
	}
	// The API's description needs no token: on the engine, outside the group.
	r.GET(openAPIPath, serveOpenAPI)
	public := rateLimit(float64(d.PublicRateLimit), 3*d.PublicRateLimit)
	v1 := r.Group("/api/v1", s.authenticate(), noStore(), principalRateLimit(float64(d.APIRateLimit), 3*d.APIRateLimit), s.idempotent(), s.canonicalFilters())
	s.routes(v1, r.Group("/public", public, s.canonicalFilters()))
	if d.Pages != nil {
		d.Pages.Mount(r.Group("/", public))
	}
	if d.Console != nil {
		// Per address like the portal: it bounds password guessing's cost
		// (argon2id) too. The console's own calls of the API are not counted.
		d.Console.Mount(r.Group("/console", public), r)
	}
	return r
}

// Server holds what the resource handlers share.
type Server struct {
	d   Deps
	log *zap.Logger
	// progressCache, when set, serves batch progress up to a second old.
	progressCache *progressCache
}

// inspections is the store of tasks and their records.
func (s *Server) inspections() *inspection.Store { return s.d.Services.Inspections }

// calendar is the working-day calendar store every read and rule of the
// server shares (it caches the calendar between changes).
func (s *Server) calendar() *workday.Store { return s.d.Services.Calendars }

// now is the services' clock: which day it is for the rules.
func (s *Server) now() time.Time {
	if s.d.Services == nil {
		return time.Now()
	}
	return s.d.Services.Now()
}

// today is the current date in China.
func (s *Server) today() workday.Date { return workday.DateOf(s.now()) }

// fail answers err for this server (see the package-level fail).
func (s *Server) fail(c *gin.Context, err error) { fail(c, s.log, err) }

func readyz(checks map[string]Checker) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		result := gin.H{}
		ok := true
		for name, chk := range checks {
			if err := chk.Check(ctx); err != nil {
				ok = false
				result[name] = err.Error()
			} else {
				result[name] = "ok"
			}
		}
		if !ok {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": result})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": result})
	}
}

// Listen opens addr now, so that a port in use is reported before anything
// else starts.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w; stop the other process or set HTTP_ADDR", addr, err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx is cancelled, then stops accepting
// connections and drains in-flight requests for at most drain.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration, log *zap.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("HTTP API listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain HTTP requests: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
