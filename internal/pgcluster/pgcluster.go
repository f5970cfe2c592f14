// Package pgcluster runs a PostgreSQL cluster from the machine's own
// PostgreSQL binaries: the embedded database of `spotcheck dev` and the
// ephemeral database server of the tests. Production points DATABASE_URL at
// a managed server and never uses this package.
package pgcluster

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
)

// Options configure a cluster.
type Options struct {
	// Dir is the data directory; it is created and initialised when empty.
	Dir string
	// LogFile receives the server's log; empty means Dir + ".log".
	LogFile string
	// Database is created on start when missing.
	Database string
	// Ephemeral trades durability for speed (fsync off), for tests.
	Ephemeral bool
}

// Cluster is a running postgres server process.
type Cluster struct {
	Port   int
	opts   Options
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	// restarted: pg_ctl started the server anew, no longer our child.
	restarted bool
}

// ErrNoBinaries means the PostgreSQL server binaries were not found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found: install PostgreSQL 15 (apt-get install postgresql-15) or set DATABASE_URL to a running server")

// BinDir finds the directory holding initdb and postgres: PG_BINDIR, then
// `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	var cands []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		cands = append(cands, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		cands = append(cands, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(globbed, func(i, j int) bool { return versionOf(globbed[i]) > versionOf(globbed[j]) })
	cands = append(cands, globbed...)
	for _, d := range cands {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initialises the cluster when needed, starts it on a free loopback
// port and waits until it accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if opts.LogFile == "" {
		opts.LogFile = opts.Dir + ".log"
	}
	if opts.Database == "" {
		opts.Database = "postgres"
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if err := initDir(ctx, bin, opts, cred); err != nil {
		return nil, err
	}
	if err := clearStalePID(opts.Dir); err != nil {
		return nil, err
	}
	// Orphaned backends of a killed server may hold its shared memory for a
	// moment; a second attempt on a fresh port covers that.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := launch(ctx, bin, opts, cred)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	return nil, lastErr
}

// serverCredential returns the user to run PostgreSQL as: PostgreSQL refuses
// to run as root, so root runs it as the "postgres" account that the Debian
// packages create.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, but there is no \"postgres\" user to run PostgreSQL as: install the postgresql package or run as an ordinary user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func initDir(ctx context.Context, bin string, opts Options, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(opts.Dir, "PG_VERSION")); err == nil {
		return chownTree(opts.Dir, cred)
	}
	// Parents stay traversable for the server's user; the cluster itself is
	// private, as initdb demands.
	if err := os.MkdirAll(filepath.Dir(opts.Dir), 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.Mkdir(opts.Dir, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := chownTree(opts.Dir, cred); err != nil {
		return err
	}
	if cred != nil {
		if err := reachable(opts.Dir, cred); err != nil {
			return err
		}
	}
	args := []string{"-D", opts.Dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if opts.Ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb %s failed: %w: %s", opts.Dir, err, lastLines(out.String(), 5))
	}
	return nil
}

// reachable checks that the server's user can walk down to dir; a data
// directory under /root, say, cannot work and deserves a plain message.
func reachable(dir string, cred *syscall.Credential) error {
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("data directory parent: %w", err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm()&0o001 == 0 && st.Uid != cred.Uid {
			return fmt.Errorf("PostgreSQL runs as user postgres, which cannot enter %s (mode %s): put DATA_DIR somewhere it can reach, or set DATABASE_URL", d, fi.Mode().Perm())
		}
	}
	return nil
}

func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

// clearStalePID removes postmaster.pid when the process it names is gone
// (after kill -9); a live one means another server owns the directory.
func clearStalePID(dir string) error {
	pidFile := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if pid > 0 && alive(pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.HasPrefix(string(comm), "postgres") {
			return fmt.Errorf("a PostgreSQL server (pid %d) is already running on %s: stop it (kill %d) or use another DATA_DIR", pid, dir, pid)
		}
	}
	return os.Remove(pidFile)
}

// alive reports whether pid runs. A killed server whose parent died too can
// linger as a zombie when nothing reaps orphans (PID 1 in a container); it
// holds no files and must not block a restart.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Field 3, after the parenthesised command name, is the state.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

func launch(ctx context.Context, bin string, opts Options, cred *syscall.Credential) (*Cluster, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL log: %w", err)
	}
	defer logf.Close()
	args := []string{"-D", opts.Dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=200"}
	if opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &Cluster{Port: port, opts: opts, cmd: cmd, exited: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.exited) }()

	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		c.Stop(5 * time.Second)
		return nil, err
	}
	if err := c.ensureDatabase(ctx, opts.Database); err != nil {
		c.Stop(5 * time.Second)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) waitReady(ctx context.Context, limit time.Duration) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during start-up (%v); its log %s ends: %s", c.err, c.opts.LogFile, tail(c.opts.LogFile))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s; see %s", limit, c.opts.LogFile)
		}
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	if name == "postgres" {
		return nil
	}
	return CreateDatabase(ctx, c.URL("postgres"), name)
}

// CreateDatabase creates database name on the server at adminURL unless it
// exists.
func CreateDatabase(ctx context.Context, adminURL, name string) error {
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	// Identifiers cannot be bind parameters; QuoteIdentifier makes the name safe.
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// URL returns a connection URL for database on this cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, database)
}

// RuntimeRole is the role the application connects as (migration 00082):
// it owns nothing and cannot change the audit trail.
const RuntimeRole = "spotcheck_runtime"

// RuntimeURL returns a connection URL for database as RuntimeRole.
func (c *Cluster) RuntimeURL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", RuntimeRole, c.Port, database)
}

// Exited is closed when the server process ends.
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

// RestartImmediate is `pg_ctl restart -m immediate`: every backend is
// killed without a checkpoint, as in a crash, and the server starts again
// on the same port and recovers from its WAL. The test of faults uses it;
// the new server is pg_ctl's child, and Stop stops it through pg_ctl.
func (c *Cluster) RestartImmediate(ctx context.Context) error {
	bin, err := BinDir()
	if err != nil {
		return err
	}
	cred, err := serverCredential()
	if err != nil {
		return err
	}
	if cred != nil {
		// The log was opened by us; the restarted server appends to it.
		if err := os.Chown(c.opts.LogFile, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand the log to the server's user: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_ctl"), "-D", c.opts.Dir, "-l", c.opts.LogFile, "-m", "immediate", "-w", "-t", "120", "restart")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl restart -m immediate: %w: %s", err, lastLines(string(out), 5))
	}
	c.restarted = true
	return c.waitReady(ctx, 2*time.Minute)
}

// Stop asks for a fast shutdown (SIGINT: roll back open transactions, write
// a checkpoint) and kills the server if it has not gone within limit.
func (c *Cluster) Stop(limit time.Duration) error {
	if c.restarted {
		bin, err := BinDir()
		if err != nil {
			return err
		}
		cred, err := serverCredential()
		if err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", c.opts.Dir, "-m", "fast", "-w", "-t", strconv.Itoa(int(limit.Seconds())+1), "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("pg_ctl stop: %w: %s", err, lastLines(string(out), 5))
		}
		return nil
	}
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
		return nil
	case <-time.After(limit):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("postgres did not stop within %s and was killed", limit)
	}
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	return lastLines(string(b), 5)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
