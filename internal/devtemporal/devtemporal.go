// Package devtemporal runs the Temporal CLI's dev server as a child process:
// the embedded Temporal of `spotcheck dev`, persisted in a SQLite file so a
// restart keeps running batches. Production points TEMPORAL_ADDRESS at a real
// cluster and never uses this package.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// Options configure the dev server.
type Options struct {
	CLI       string // path of the temporal binary
	DBFile    string // SQLite file; state survives restarts
	LogFile   string
	Port      int // frontend (gRPC) port
	UIPort    int // Web UI port
	Namespace string
}

// Server is a running dev server.
type Server struct {
	Address string
	UIURL   string
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error
}

// Start launches the dev server and waits until its frontend answers a
// health check.
func Start(ctx context.Context, opts Options) (*Server, error) {
	cli, err := exec.LookPath(opts.CLI)
	if err != nil {
		return nil, fmt.Errorf("Temporal CLI not found at %s: build it with `make bin/temporal` (go install github.com/temporalio/cli/cmd/temporal@v1.5.1) or set TEMPORAL_ADDRESS to a running server", opts.CLI)
	}
	for _, p := range []struct {
		name string
		port int
	}{{"TEMPORAL_DEV_PORT", opts.Port}, {"TEMPORAL_UI_PORT", opts.UIPort}} {
		if err := portFree(p.port); err != nil {
			return nil, fmt.Errorf("port %d (%s) is in use, perhaps by an earlier `spotcheck dev` still running: stop it or set %s to a free port", p.port, p.name, p.name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
		return nil, fmt.Errorf("create Temporal data directory: %w", err)
	}
	logf, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open Temporal log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(cli, "server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port),
		"--ui-port", strconv.Itoa(opts.UIPort),
		"--db-filename", opts.DBFile,
		"--namespace", opts.Namespace,
		"--log-level", "warn",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		// As deploy/temporal/dynamicconfig.yaml: an activity on the
		// workflow's own queue comes back with the workflow task's answer.
		"--dynamic-config-value", "system.enableActivityEagerExecution=true",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The dev server dies with us even when we are killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	s := &Server{
		Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)),
		UIURL:   "http://127.0.0.1:" + strconv.Itoa(opts.UIPort),
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, opts, 90*time.Second); err != nil {
		s.Stop(5 * time.Second)
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, opts Options, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := client.Dial(client.Options{HostPort: s.Address, Namespace: opts.Namespace, Logger: quiet{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("Temporal dev server exited during start-up (%v); see %s", s.err, opts.LogFile)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Temporal dev server did not become ready within %s; see %s", limit, opts.LogFile)
		}
	}
}

// Exited is closed when the dev server process ends.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Kill ends the dev server with SIGKILL, as a crash would; its SQLite file
// keeps what it had written.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Stop terminates the dev server, killing it if it lingers past limit.
func (s *Server) Stop(limit time.Duration) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(limit):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("Temporal dev server did not stop in time and was killed")
	}
}

func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// quiet silences the SDK's own logging during the readiness probe, where
// connection refusals are expected.
type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
