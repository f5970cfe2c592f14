package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// TestDemoScripts runs docs/demo-batch.sh and docs/demo-joint.sh as a
// caller of `make run` would, against the whole system (API and worker on
// a database holding the demo data, Temporal, the CLI built from this
// tree): each must finish its batch, archive included.
func TestDemoScripts(t *testing.T) {
	t.Parallel() // beside the cluster test; its own database and task queue
	for _, tool := range []string{"bash", "curl", "jq", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the demo scripts need %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dbURL, db := migratedDatabase(t)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 2000}); err != nil {
		t.Fatal(err)
	}
	ensureCalendar(t, ctx, db)

	cli := filepath.Join(t.TempDir(), "spotcheck")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", cli, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the CLI: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Register(newFlagSetForTest())
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue = testenv.RuntimeURL(dbURL), testenv.TemporalAddress(t), "demo-scripts"
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), contractChecked(t, roles{api: true, worker: true}), ln, nil)
	}()
	defer func() { stop(); <-served }()

	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for script, done := range map[string]string{"demo-batch.sh": "== published and archived", "demo-joint.sh": "archived"} {
		t.Run(script, func(t *testing.T) {
			start := time.Now()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "docs", script))
			cmd.Env = append(os.Environ(), "API=http://"+ln.Addr().String(), "DATABASE_URL="+dbURL, "SPOTCHECK="+cli)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), done) {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			t.Logf("%s took %s:\n%s", script, time.Since(start).Round(time.Second), out)
		})
	}
}
