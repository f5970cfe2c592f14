package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/internal/pgcluster"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// TestMain lets the test binary double as the spotcheck binary, so the
// process-level tests below run the real main without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SPOTCHECK_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	testenv.Main(m)
}

func TestCommandLineMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
		code int
	}{
		{nil, "no command given", 2},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, 2},
		{[]string{"api", "--database-url", ""}, "DATABASE_URL is not set", 2},
		{[]string{"worker", "--database-url", "postgres://x/y", "--temporal-address", ""}, "TEMPORAL_ADDRESS is not set", 2},
		{[]string{"api", "--log-level", "loud"}, `LOG_LEVEL "loud"`, 2},
		{[]string{"migrate", "--database-url", "postgres://127.0.0.1:1/x"}, "usage: spotcheck migrate", 2},
		{[]string{"dev", "--temporal-dev-port", "seven"}, "must be a whole number", 2},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to say %q", c.args, err, c.want)
			continue
		}
		if got := exitCode(err); got != c.code {
			t.Errorf("%v: exit code %d, want %d", c.args, got, c.code)
		}
	}
}

func TestUnreachableDependenciesGiveOneClearLine(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	closed := closedPort(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"database down", []string{"api", "--database-url", fmt.Sprintf("postgres://u:secret@127.0.0.1:%d/x?sslmode=disable", closed),
			"--temporal-address", "127.0.0.1:1", "--http-addr", "127.0.0.1:0"}, "cannot reach the database at postgres://u:xxxxx@127.0.0.1"},
		{"temporal wrong", []string{"worker", "--database-url", dbURL, "--temporal-address", fmt.Sprintf("127.0.0.1:%d", closed)},
			"cannot reach Temporal at 127.0.0.1"},
		{"port in use", []string{"api", "--database-url", dbURL, "--temporal-address", "127.0.0.1:1", "--http-addr", busy.Addr().String()},
			"cannot listen on " + busy.Addr().String()},
		{"migrate db down", []string{"migrate", "status", "--database-url", fmt.Sprintf("postgres://127.0.0.1:%d/x?sslmode=disable", closed)},
			"check DATABASE_URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, c.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("password leaked into %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestMigrateUpDownStatus(t *testing.T) {
	url := testenv.NewDatabase(t)
	var out bytes.Buffer
	for _, action := range []string{"up", "status", "down", "up"} {
		out.Reset()
		if err := run(context.Background(), []string{"migrate", action, "--database-url", url}, &out, io.Discard); err != nil {
			t.Fatalf("migrate %s: %v", action, err)
		}
		if action == "status" && !strings.Contains(out.String(), "applied") {
			t.Errorf("status output %q lists nothing applied", out.String())
		}
	}
}

// TestDevComesBackAfterKill9 is the foundation's promise: `spotcheck dev`
// needs nothing running, answers /readyz, and after kill -9 of its whole
// process group a second run finds the same PostgreSQL rows and Temporal
// workflows.
func TestDevComesBackAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Temporal twice")
	}
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.MkdirTemp("", "spotcheck-dev-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(data, 0o755)
	t.Cleanup(func() { os.RemoveAll(data) })
	httpPort, tPort, uiPort := freePort(t), freePort(t), freePort(t)
	env := append(os.Environ(),
		"SPOTCHECK_TEST_RUN_MAIN=1", "DATABASE_URL=", "TEMPORAL_ADDRESS=",
		"DATA_DIR="+data, "TEMPORAL_CLI="+cli, "DEMO_DATA=false",
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"TEMPORAL_DEV_PORT="+strconv.Itoa(tPort), "TEMPORAL_UI_PORT="+strconv.Itoa(uiPort))
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)

	// First run: write a row and start a workflow, then kill -9 everything.
	first := startDev(t, env, data)
	waitReady(t, base)
	if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/", uiPort)); code != 200 {
		t.Errorf("Temporal Web UI answered %d", code)
	}
	metrics := body(t, base+"/metrics")
	for _, want := range []string{"go_goroutines", "spotcheck_http_requests_total", "temporal_long_request", "go_sql_open_connections"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	db := openEmbedded(t, data)
	if _, err := db.Exec(`INSERT INTO departments (code, name) VALUES ('ZFJ', '执法局（政策法规处）')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	tc, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(tPort)})
	if err != nil {
		t.Fatal(err)
	}
	// A workflow on a queue nobody polls stays open: a durable marker.
	if _, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "persistence-check", TaskQueue: "nobody"}, "Marker"); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	if err := syscall.Kill(-first.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	waitPortFree(t, tPort)

	// Second run: same data, then a graceful stop.
	second := startDev(t, env, data)
	waitReady(t, base)
	db = openEmbedded(t, data)
	var name string
	if err := db.QueryRow(`SELECT name FROM departments WHERE code = 'ZFJ'`).Scan(&name); err != nil {
		t.Errorf("row written before kill -9 is gone: %v", err)
	}
	db.Close()
	tc, err = client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(tPort)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.DescribeWorkflowExecution(context.Background(), "persistence-check", ""); err != nil {
		t.Errorf("workflow started before kill -9 is gone: %v", err)
	}
	tc.Close()

	start := time.Now()
	second.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev exited with %v after SIGTERM", err)
		}
		t.Logf("graceful shutdown took %s", time.Since(start))
	case <-time.After(40 * time.Second):
		syscall.Kill(-second.Process.Pid, syscall.SIGKILL)
		t.Fatal("dev did not stop within 40s of SIGTERM")
	}
}

func startDev(t *testing.T, env []string, data string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "dev")
	cmd.Env = env
	logf, err := os.OpenFile(filepath.Join(data, "dev.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "dev.log"))
			t.Logf("dev.log:\n%s", b)
		}
	})
	return cmd
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("/readyz did not answer 200 within 90s")
}

func openEmbedded(t *testing.T, data string) *sql.DB {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "postgres", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimSpace(strings.Split(string(b), "\n")[3]) // line 4 is the port
	db, err := sql.Open("postgres", "postgres://postgres@127.0.0.1:"+port+"/spotcheck?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func closedPort(t *testing.T) int { return freePort(t) }

func waitPortFree(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("port %d still in use after kill -9", port)
}
