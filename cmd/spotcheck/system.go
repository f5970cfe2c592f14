package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/logging"
	"github.com/spotcheck-gov/spotcheck/internal/telemetry"
	"github.com/spotcheck-gov/spotcheck/migrations"
	"github.com/spotcheck-gov/spotcheck/web"
)

// roles says which parts of the system one process runs; seedDemo loads
// the demo data into an empty database after the migrations.
//
// runtimeURL, when set, is the database as the runtime role: after the
// migrations and the seed (as DATABASE_URL, the owner), the worker and the
// API connect with it.
type roles struct {
	api, worker, migrate, seedDemo bool
	runtimeURL                     string
	// checkAPI, when set, wraps the API handler: the tests hold every
	// exchange of a live system to api/openapi.json (internal/apicontract).
	checkAPI func(http.Handler) http.Handler
}

// parseFlags registers the settings on a flag set named for the command and
// parses args.
func parseFlags(name string, args []string, stderr io.Writer) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("spotcheck "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, usageError{err.Error()}
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	return cfg, fs, nil
}

// runRole runs the production roles against an existing database and
// Temporal cluster.
func runRole(ctx context.Context, name string, args []string, stderr io.Writer, r roles) error {
	cfg, _, err := parseFlags(name, args, stderr)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database (or use `spotcheck dev`)"}
	}
	if cfg.TemporalAddress == "" {
		return usageError{"TEMPORAL_ADDRESS is not set: point it at the Temporal frontend, e.g. temporal.internal:7233 (or use `spotcheck dev`)"}
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
	var ln net.Listener
	if r.api {
		if ln, err = api.Listen(cfg.HTTPAddr); err != nil {
			return err
		}
	}
	return serve(ctx, cfg, log, r, ln, nil)
}

// serve connects to the database and Temporal, starts the worker and the
// API as r asks, and on cancellation stops them in reverse order: stop
// accepting requests and drain, stop the worker, close the client and pool.
func serve(ctx context.Context, cfg *config.Config, log *zap.Logger, r roles, ln net.Listener, extraReady map[string]api.Checker) error {
	db, err := openDB(ctx, cfg.DatabaseURL, cfg.DBMaxOpenConns)
	if err != nil {
		return err
	}
	defer func() { db.Close() }()
	if r.migrate {
		if err := migrations.Up(ctx, db.DB); err != nil {
			return err
		}
		log.Info("database schema is up to date")
	}
	if r.seedDemo {
		if err := seedDemo(ctx, db, log); err != nil {
			return err
		}
	}
	if r.runtimeURL != "" {
		db.Close()
		if db, err = openDB(ctx, r.runtimeURL, cfg.DBMaxOpenConns); err != nil {
			return err
		}
		log.Info("connected as the runtime role")
	}
	reg := telemetry.NewRegistry()
	if err := telemetry.RegisterDB(reg, db.DB); err != nil {
		return fmt.Errorf("register database metrics: %w", err)
	}
	tc, err := dialTemporal(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer tc.Close()

	var stopWorker func()
	if r.worker {
		w := newWorker(tc, cfg, db, log)
		if err := registerWorkerSettings(reg, cfg); err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return fmt.Errorf("start Temporal worker on task queue %s: %w", cfg.TaskQueue, err)
		}
		log.Info("Temporal worker started", zap.String("task_queue", cfg.TaskQueue))
		stopWorker = w.Stop
		if err := ensureDigestSchedule(ctx, tc, cfg); err != nil {
			w.Stop()
			return err
		}
		log.Info("digest schedule set", zap.String("time", cfg.DigestTime+" Asia/Shanghai"))
		if err := ensureAuditHeadSchedule(ctx, tc, cfg); err != nil {
			w.Stop()
			return err
		}
	}

	var serveErr error
	ready := map[string]api.Checker{
		"database": api.CheckFunc(db.PingContext),
		"temporal": api.CheckFunc(func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}),
	}
	for k, v := range extraReady {
		ready[k] = v
	}
	if r.api {
		authn, err := newAuthenticator(ctx, cfg, db, log)
		if err != nil {
			return err
		}
		sessions := auth.NewSessions(db, auth.DefaultSessionPolicy)
		authn.WithSessions(sessions)
		console, err := newConsole(ctx, cfg, sessions, log)
		if err != nil {
			return err
		}
		svc := backend.New(db, nil)
		h := api.NewHandler(api.Deps{Log: log, Services: svc, Temporal: tc, TaskQueue: cfg.TaskQueue, Registry: reg, Ready: ready,
			Version: buildVersion(), Auth: authn, CORSOrigins: strings.Split(cfg.CORSOrigins, ","), PublicRateLimit: cfg.PublicRateLimit, APIRateLimit: cfg.APIRateLimit,
			ProgressCache: time.Duration(cfg.ProgressCacheMS) * time.Millisecond,
			Pages:         web.New(svc.Disclosure, log), Console: console})
		if r.checkAPI != nil {
			h = r.checkAPI(h)
		}
		go svc.Idempotency.SweepEvery(ctx, time.Hour, log)
		serveErr = api.Serve(ctx, ln, h, cfg.ShutdownTimeout/2, log)
	} else if cfg.WorkerHTTPAddr != "" {
		done, err := serveWorkerHTTP(ctx, cfg.WorkerHTTPAddr, workerHandler(reg, ready), cfg.ShutdownTimeout/4, log)
		if err != nil {
			if stopWorker != nil {
				stopWorker()
			}
			return err
		}
		serveErr = <-done
	} else {
		<-ctx.Done()
	}
	if stopWorker != nil {
		stopWorker()
		log.Info("Temporal worker stopped")
	}
	return serveErr
}

// openDB connects and pings, so that a wrong DATABASE_URL fails now with a
// message rather than later on the first request.
func openDB(ctx context.Context, dsn string, maxOpen int) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL URL: %w", err)
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach the database at %s: %v; check DATABASE_URL and that PostgreSQL is running", redact(dsn), err)
	}
	return db, nil
}

// redact hides a password in a database URL before it is printed.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func dialTemporal(ctx context.Context, cfg *config.Config, log *zap.Logger, reg prometheus.Registerer) (client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tc, err := client.DialContext(dctx, client.Options{
		HostPort:       cfg.TemporalAddress,
		Namespace:      cfg.TemporalNamespace,
		Logger:         logging.NewTemporal(log.Named("temporal")),
		MetricsHandler: telemetry.NewTemporalHandler(reg),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %v; check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE", cfg.TemporalAddress, cfg.TemporalNamespace, err)
	}
	return tc, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}
