package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// proc is one server process of a cluster test: started, killed with
// SIGKILL like a crashed machine, stopped with SIGTERM like systemd does,
// and started again with the same settings. Its output goes to a file that
// the test prints when it fails.
type proc struct {
	t     testing.TB
	name  string
	path  string
	args  []string
	env   []string
	log   string
	cmd   *exec.Cmd
	exit  chan struct{}
	lives int
}

func newProc(t testing.TB, name, path string, env []string, args ...string) *proc {
	p := &proc{t: t, name: name, path: path, args: args, env: env, log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", p.name, tail(p.log, 25))
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(out, "---- start %d of %s\n", p.lives+1, p.name)
	p.cmd = exec.Command(p.path, p.args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, out, out
	// Pdeathsig: a test killed by its timeout leaves no servers behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.lives++
	p.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { cmd.Wait(); out.Close(); close(exit) }(p.cmd, p.exit)
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exit:
		return false
	default:
		return true
	}
}

// kill ends the process group at once, as a power cut would.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exit
}

// stop asks the process to shut down and kills it after 30 s.
func (p *proc) stop() {
	if !p.running() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exit:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// loopbackPort returns a loopback port nobody listens on now.
func loopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// temporalPortOffsets are the ports deploy/temporal/config.yaml derives
// from TEMPORAL_PORT_BASE.
var temporalPortOffsets = []int{0, 1, 2, 6, 10, -300, -299, -298, -294}

// freePortBase finds a base whose every derived port is free.
func freePortBase(t testing.TB) int {
	t.Helper()
	for range 100 {
		// Temporal stores membership ports as smallint: stay below 32768.
		base := 20000 + rand.IntN(12000)
		free := true
		for _, off := range temporalPortOffsets {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free range of ports for the Temporal server")
	return 0
}

// temporalCluster is the real Temporal server of deploy/temporal on its own
// PostgreSQL databases (persistence and visibility), in a child process.
type temporalCluster struct {
	*proc
	addr string
}

// temporalBinaries locates what `make bin/temporal-server` builds; a test
// that needs them fails (never skips) without them, saying how to build.
func temporalBinaries(t testing.TB) (root, server, sqlTool, schema string) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	server = filepath.Join(root, "bin", "temporal-server")
	sqlTool = filepath.Join(root, "bin", "temporal-sql-tool")
	schema = filepath.Join(root, "bin", "temporal-schema")
	for _, p := range []string{server, sqlTool, filepath.Join(schema, "temporal", "versioned")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run `make bin/temporal-server` (make test builds it) to build the Temporal server from the Go module proxy", p)
		}
	}
	return root, server, sqlTool, schema
}

// startTemporalCluster creates the two databases on the test's PostgreSQL
// server, sets up their schemas with deploy/temporal/setup-schema.sh,
// starts the server with deploy/temporal/config.yaml and registers the
// namespace "default".
func startTemporalCluster(t testing.TB, ctx context.Context, shards int) *temporalCluster {
	t.Helper()
	root, server, sqlTool, schema := temporalBinaries(t)
	persistence, visibility := testenv.NewDatabase(t), testenv.NewDatabase(t)
	host, port, user := dbParts(t, persistence)
	env := append(os.Environ(),
		"TEMPORAL_DB_HOST="+host, "TEMPORAL_DB_PORT="+port, "TEMPORAL_DB_USER="+user, "TEMPORAL_DB_PASSWORD=",
		"TEMPORAL_DB_NAME="+dbName(t, persistence), "TEMPORAL_VISIBILITY_DB_NAME="+dbName(t, visibility),
		"TEMPORAL_SQL_TOOL="+sqlTool, "TEMPORAL_SCHEMA_DIR="+schema)
	setup := exec.CommandContext(ctx, "sh", filepath.Join(root, "deploy", "temporal", "setup-schema.sh"))
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("deploy/temporal/setup-schema.sh: %v\n%s", err, out)
	}
	base := freePortBase(t)
	env = append(env,
		"TEMPORAL_PORT_BASE="+strconv.Itoa(base),
		"TEMPORAL_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(loopbackPort(t)),
		"TEMPORAL_HISTORY_SHARDS="+strconv.Itoa(shards),
		"TEMPORAL_DB_MAX_CONNS=10",
		"TEMPORAL_LOG_LEVEL=warn",
		"TEMPORAL_DYNAMIC_CONFIG="+filepath.Join(root, "deploy", "temporal", "dynamicconfig.yaml"))
	tc := &temporalCluster{addr: "127.0.0.1:" + strconv.Itoa(base),
		proc: newProc(t, "temporal-server", server, env, "--config-file", filepath.Join(root, "deploy", "temporal", "config.yaml"), "--allow-no-auth", "start")}
	tc.start()
	tc.awaitFrontend(ctx)
	nc, err := client.NewNamespaceClient(client.Options{HostPort: tc.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatalf("register namespace default: %v", err)
	}
	tc.awaitNamespace(ctx)
	return tc
}

// restart stops the server as systemd would (SIGTERM) and starts it again
// on the same databases and ports.
func (c *temporalCluster) restart(ctx context.Context) {
	c.stop()
	c.start()
	c.awaitFrontend(ctx)
	c.awaitNamespace(ctx)
}

func (c *temporalCluster) awaitFrontend(ctx context.Context) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		tc, err := client.DialContext(cctx, client.Options{HostPort: c.addr, Namespace: "temporal-system"})
		cancel()
		if err == nil {
			tc.Close()
			return
		}
		if !c.running() || time.Now().After(deadline) {
			c.t.Fatalf("Temporal server at %s did not answer: %v\n%s", c.addr, err, tail(c.log, 25))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// awaitNamespace waits until the frontend serves the namespace (its cache
// learns a new namespace within seconds).
func (c *temporalCluster) awaitNamespace(ctx context.Context) {
	c.t.Helper()
	tc, err := client.DialContext(ctx, client.Options{HostPort: c.addr, Namespace: "default"})
	if err != nil {
		c.t.Fatal(err)
	}
	defer tc.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := tc.DescribeTaskQueue(ctx, "probe", enums.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("namespace default not served: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func dbParts(t testing.TB, url string) (host, port, user string) {
	t.Helper()
	// postgres://user@host:port/db?...
	rest := strings.TrimPrefix(url, "postgres://")
	at := strings.Index(rest, "@")
	slash := strings.Index(rest, "/")
	if at < 0 || slash < at {
		t.Fatalf("unexpected database URL %s", url)
	}
	user = rest[:at]
	if i := strings.Index(user, ":"); i >= 0 {
		t.Fatalf("the cluster test expects a test server without passwords, got %s", redact(url))
	}
	h, p, err := net.SplitHostPort(rest[at+1 : slash])
	if err != nil {
		t.Fatal(err)
	}
	return h, p, user
}

func dbName(t testing.TB, url string) string {
	rest := url[strings.LastIndex(url, "/")+1:]
	if i := strings.Index(rest, "?"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// freshDB is a migrated database of the test's own, so that the batch's
// population is exactly what the test seeds.
func freshDB(t testing.TB, ctx context.Context) (string, *sqlx.DB) {
	t.Helper()
	url := testenv.NewDatabase(t)
	db := sqlx.MustOpen("postgres", url)
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	return url, db
}

// roleEnv is the environment of a `spotcheck api` or `spotcheck worker`
// child: the test binary runs main (see TestMain).
func roleEnv(dbURL, temporal, queue string, extra ...string) []string {
	return append(append(os.Environ(), "SPOTCHECK_TEST_RUN_MAIN=1", "LOG_LEVEL=warn", "DB_MAX_OPEN_CONNS=8",
		"DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporal, "TEMPORAL_TASK_QUEUE="+queue), extra...)
}

// awaitHTTP waits until GET url answers 200.
func awaitHTTP(t testing.TB, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if !p.running() || time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200 (%v)\n%s", p.name, url, err, tail(p.log, 25))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metricSum adds up the samples of a Prometheus metric (every label set)
// that a process serves at url; 0 when it is not there.
func metricSum(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

// apiClient sends entries to several `spotcheck api` processes in turn,
// as a load balancer would (leaving out for a while one that refused a
// connection), and retries what was not acknowledged: a
// refused connection or a dropped response (process killed), a 5xx
// (Temporal restarting) and a 409 that says to try again. Each logical
// request keeps one Idempotency-Key across its attempts, so a retry of a
// request that did reach Temporal is answered from the first.
type apiClient struct {
	bases []string
	http  *http.Client
	mu    sync.Mutex
	next  int
	// down holds the processes that refused a connection, left out of the
	// rotation for a while (a load balancer's passive check); the value is
	// the mark's number, so only the newest mark's timer lifts it.
	down  map[string]int
	marks int
	// retries counts attempts that were not acknowledged, and why.
	retries int
	why     map[string]int
}

func newAPIClient(bases ...string) *apiClient {
	return &apiClient{bases: bases, http: &http.Client{Timeout: 40 * time.Second}}
}

type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.body) }

// do sends the request until it is acknowledged (2xx) or refused with a
// 4xx that retrying cannot change, and returns the decoded answer.
func (c *apiClient) do(ctx context.Context, method, path, tok, key string, body any) (map[string]any, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	limit := time.Now().Add(4 * time.Minute)
	for attempt := 0; ; attempt++ {
		base := c.pick()
		out, err := c.once(ctx, method, base+path, tok, key, raw)
		if err == nil {
			return out, nil
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			c.markDown(base)
		}
		retry := !errors.As(err, &ae) || ae.status >= 500 || ae.status == http.StatusConflict || ae.status == http.StatusTooManyRequests
		if !retry || ctx.Err() != nil || time.Now().After(limit) {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		c.mu.Lock()
		c.retries++
		if c.why == nil {
			c.why = map[string]int{}
		}
		c.why[retryReason(err)]++
		c.mu.Unlock()
		time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
	}
}

// pick is the next process in turn that is not marked down; any, if all are.
func (c *apiClient) pick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range c.bases {
		base := c.bases[c.next%len(c.bases)]
		c.next++
		if _, out := c.down[base]; !out {
			return base
		}
	}
	return c.bases[c.next%len(c.bases)]
}

// markDown leaves base out of the rotation for two seconds.
func (c *apiClient) markDown(base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down == nil {
		c.down = map[string]int{}
	}
	c.marks++
	mark := c.marks
	c.down[base] = mark
	time.AfterFunc(2*time.Second, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.down[base] == mark {
			delete(c.down, base)
		}
	})
}

// retryReason names an unacknowledged attempt by its status and the
// problem's title, or by the transport's error.
func retryReason(err error) string {
	var ae *apiError
	if !errors.As(err, &ae) {
		return "transport"
	}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	json.Unmarshal([]byte(ae.body), &p)
	d := []rune(p.Detail)
	if len(d) > 40 {
		d = d[:40]
	}
	return fmt.Sprintf("%d %s: %s", ae.status, p.Title, string(d))
}

func (c *apiClient) once(ctx context.Context, method, url, tok, key string, body []byte) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err // the process died while answering
	}
	if resp.StatusCode/100 != 2 {
		return nil, &apiError{resp.StatusCode, string(b)}
	}
	out := map[string]any{}
	json.Unmarshal(b, &out)
	return out, nil
}

// largestHistory describes the batch's workflows — the batch, each
// county, each county's partitions and a sample of objects — and returns
// the longest history (in events) and whose it is.
func largestHistory(ctx context.Context, addr, id string, objects []string) (string, int64, error) {
	tc, err := client.DialContext(ctx, client.Options{HostPort: addr})
	if err != nil {
		return "", 0, err
	}
	defer tc.Close()
	ids := []string{"batch/" + id}
	for _, c := range jiaxing {
		ids = append(ids, "batch/"+id+"/county/"+c)
		for i := 0; i < 50; i++ {
			ids = append(ids, fmt.Sprintf("batch/%s/county/%s/part/%d", id, c, i))
		}
	}
	for _, k := range objects {
		ids = append(ids, "batch/"+id+"/object/"+k)
	}
	var longest string
	var most int64
	for _, wid := range ids {
		d, err := tc.DescribeWorkflowExecution(ctx, wid, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue // fewer partitions than tried
		}
		if err != nil {
			return "", 0, fmt.Errorf("describe %s: %w", wid, err)
		}
		if n := d.WorkflowExecutionInfo.HistoryLength; n > most {
			longest, most = wid, n
		}
	}
	return longest, most, nil
}
