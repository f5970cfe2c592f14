package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/devtemporal"
	"github.com/spotcheck-gov/spotcheck/internal/logging"
	"github.com/spotcheck-gov/spotcheck/internal/pgcluster"
)

// runDev runs the whole system in one process group: an embedded PostgreSQL
// cluster and Temporal dev server (unless DATABASE_URL / TEMPORAL_ADDRESS
// point elsewhere), migrations, the worker and the API. Data lives under
// DATA_DIR, so a second run, even after kill -9, picks up where it was.
func runDev(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, fs, err := parseFlags("dev", args, stderr)
	if err != nil {
		return err
	}
	format := cfg.LogFormat
	if !config.EnvWasSet("LOG_FORMAT") && !flagSet(fs, "log-format") {
		format = "console"
	}
	log, err := logging.New(cfg.LogLevel, format)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable

	// Claim the HTTP port first: a port in use should fail in a second,
	// not after PostgreSQL and Temporal have started.
	ln, err := api.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	defer ln.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	extra := map[string]api.Checker{}
	r := roles{api: true, worker: true, migrate: true, seedDemo: cfg.DemoData}

	if cfg.DatabaseURL == "" {
		pg, err := pgcluster.Start(ctx, pgcluster.Options{
			Dir:      filepath.Join(cfg.DataDir, "postgres"),
			LogFile:  filepath.Join(cfg.DataDir, "postgres.log"),
			Database: "spotcheck",
		})
		if err != nil {
			return fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		defer stopLogged(log, "PostgreSQL", func() error { return pg.Stop(cfg.ShutdownTimeout / 2) })
		go watch(ctx, cancel, pg.Exited(), "embedded PostgreSQL exited unexpectedly; see "+filepath.Join(cfg.DataDir, "postgres.log"))
		// Migrations run as the superuser (the owner); the application as
		// the runtime role.
		cfg.DatabaseURL, r.runtimeURL = pg.URL("spotcheck"), pg.RuntimeURL("spotcheck")
		log.Info("embedded PostgreSQL running", zap.Int("port", pg.Port), zap.String("dir", filepath.Join(cfg.DataDir, "postgres")))
	}
	if cfg.TemporalAddress == "" {
		ts, err := devtemporal.Start(ctx, devtemporal.Options{
			CLI:       cfg.TemporalCLI,
			DBFile:    filepath.Join(cfg.DataDir, "temporal.db"),
			LogFile:   filepath.Join(cfg.DataDir, "temporal.log"),
			Port:      cfg.TemporalDevPort,
			UIPort:    cfg.TemporalUIPort,
			Namespace: cfg.TemporalNamespace,
		})
		if err != nil {
			return fmt.Errorf("embedded Temporal: %w", err)
		}
		defer stopLogged(log, "Temporal dev server", func() error { return ts.Stop(cfg.ShutdownTimeout / 2) })
		go watch(ctx, cancel, ts.Exited(), "embedded Temporal dev server exited unexpectedly; see "+filepath.Join(cfg.DataDir, "temporal.log"))
		cfg.TemporalAddress = ts.Address
		log.Info("embedded Temporal dev server running", zap.String("address", ts.Address), zap.String("web_ui", ts.UIURL))
	}

	err = serve(ctx, cfg, log, r, ln, extra)
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	log.Info("shutting down")
	return err
}

// watch cancels the run when a child process ends before we asked it to.
func watch(ctx context.Context, cancel context.CancelCauseFunc, exited <-chan struct{}, msg string) {
	select {
	case <-exited:
		cancel(errors.New(msg))
	case <-ctx.Done():
	}
}

func stopLogged(log *zap.Logger, what string, stop func() error) {
	start := time.Now()
	if err := stop(); err != nil {
		log.Warn("stop "+what, zap.Error(err))
		return
	}
	log.Info(what+" stopped", zap.Duration("took", time.Since(start)))
}
