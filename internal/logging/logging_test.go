package logging

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalCallerIsTheCallingLine(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var l log.Logger = NewTemporal(zap.New(core, zap.AddCaller()))

	_, file, line, _ := runtime.Caller(0)
	l.Info("batch drawn", "batch_id", "2026-ZR-001", "drawn", 12) // the caller line under test
	want := filepath.Base(file) + ":" + strconv.Itoa(line+1)

	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	e := entries[0]
	if got := filepath.Base(e.Caller.File) + ":" + strconv.Itoa(e.Caller.Line); got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
	ctx := e.ContextMap()
	if ctx["batch_id"] != "2026-ZR-001" || ctx["drawn"] != int64(12) {
		t.Errorf("fields = %v", ctx)
	}
}

func TestTemporalWithKeepsFieldsAndCaller(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := NewTemporal(zap.New(core, zap.AddCaller())).With("county", "330402")
	_, file, line, _ := runtime.Caller(0)
	l.Warn("reminder sent", "odd")
	e := logs.All()[0]
	if e.Caller.Line != line+1 || filepath.Base(e.Caller.File) != filepath.Base(file) {
		t.Errorf("caller = %s:%d", e.Caller.File, e.Caller.Line)
	}
	if e.ContextMap()["county"] != "330402" || e.ContextMap()["!BADKEY"] != "odd" {
		t.Errorf("fields = %v", e.ContextMap())
	}
}

func TestTemporalCallerSkip(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := NewTemporal(zap.New(core, zap.AddCaller())).WithCallerSkip(1)
	_, file, line, _ := runtime.Caller(0)
	wrapper := func() { l.Error("x") } // skipped frame
	wrapper()
	e := logs.All()[0]
	if e.Caller.Line != line+2 || filepath.Base(e.Caller.File) != filepath.Base(file) {
		t.Errorf("caller = %s:%d, want line %d", e.Caller.File, e.Caller.Line, line+2)
	}
}

func TestWorkflowLoggerCallerIsWorkflowCode(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(NewTemporal(zap.New(core, zap.AddCaller())))
	env := ts.NewTestWorkflowEnvironment()
	var line int
	wf := func(ctx workflow.Context) error {
		_, _, line, _ = runtime.Caller(0)
		workflow.GetLogger(ctx).Info("inside workflow")
		return nil
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "logcaller"})
	env.ExecuteWorkflow("logcaller")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for _, e := range logs.All() {
		if e.Message == "inside workflow" {
			if filepath.Base(e.Caller.File) != "logging_test.go" || e.Caller.Line != line+1 {
				t.Fatalf("caller = %s:%d, want logging_test.go:%d", e.Caller.File, e.Caller.Line, line+1)
			}
			return
		}
	}
	t.Fatal("workflow log entry not found")
}

func TestNewFormats(t *testing.T) {
	for _, f := range []string{"json", "console"} {
		if _, err := New("debug", f); err != nil {
			t.Errorf("New(debug, %s): %v", f, err)
		}
	}
	if _, err := New("loud", "json"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Errorf("bad level error = %v", err)
	}
	if _, err := New("info", "xml"); err == nil {
		t.Error("xml format accepted")
	}
}
