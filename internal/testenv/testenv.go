// Package testenv gives integration tests real infrastructure: a PostgreSQL
// database of their own and a Temporal dev server. With DATABASE_URL set the
// tests use that server; otherwise an ephemeral cluster is started in a
// temporary directory from the machine's PostgreSQL binaries. Temporal is
// always the CLI dev server built into bin/temporal by `make test`; it is
// never downloaded.
//
// A test package that uses it calls Main from TestMain, so the servers are
// stopped and their files removed when the package's tests end.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/internal/pgcluster"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

var (
	mu       sync.Mutex
	cleanups []func()

	pgOnce sync.Once
	pgURL  string // admin URL of the server
	pgErr  error

	dbOnce sync.Once
	dbURL  string // this package's database
	dbErr  error

	tsOnce sync.Once
	tsAddr string
	tsErr  error
)

// Main runs the package's tests and then tears down what they started.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	mu.Unlock()
	os.Exit(code)
}

func atExit(f func()) {
	mu.Lock()
	cleanups = append(cleanups, f)
	mu.Unlock()
}

func server() (string, error) {
	pgOnce.Do(func() {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			pgURL = u
			return
		}
		dir, err := os.MkdirTemp("", "spotcheck-pg-")
		if err != nil {
			pgErr = err
			return
		}
		// The cluster's parent must be enterable by the postgres user.
		if err := os.Chmod(dir, 0o755); err != nil {
			pgErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "data"), Ephemeral: true})
		if err != nil {
			os.RemoveAll(dir)
			pgErr = fmt.Errorf("start ephemeral PostgreSQL: %w", err)
			return
		}
		pgURL = c.URL("postgres")
		atExit(func() { c.Stop(10 * time.Second); os.RemoveAll(dir) })
	})
	return pgURL, pgErr
}

// DatabaseURL returns the URL of a migrated database that belongs to this
// test package alone, created on first use and dropped at the end.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	dbOnce.Do(func() {
		admin, err := server()
		if err != nil {
			dbErr = err
			return
		}
		name := "spotcheck_test_" + packageName() + "_" + randomSuffix()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pgcluster.CreateDatabase(ctx, admin, name); err != nil {
			dbErr = err
			return
		}
		dbURL = withDatabase(admin, name)
		db, err := sqlx.Open("postgres", dbURL)
		if err != nil {
			dbErr = err
			return
		}
		defer db.Close()
		if err := migrations.Up(ctx, db.DB); err != nil {
			dbErr = err
			return
		}
		atExit(func() { dropDatabase(admin, name) })
	})
	if dbErr != nil {
		t.Fatalf("test database: %v", dbErr)
	}
	return dbURL
}

// DB opens the package's database; the handle is closed when t ends.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// NewMigratedDB creates another database, migrated, that belongs to t alone
// and is dropped when t ends: for tests that must see the shipped data (the
// calendar, say) whatever the package's other tests changed.
func NewMigratedDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, _ := newMigrated(t)
	return db
}

// NewMigratedURL is NewMigratedDB's database by its (owner's) URL.
func NewMigratedURL(t testing.TB) string {
	t.Helper()
	_, u := newMigrated(t)
	return u
}

// RuntimeURL is dbURL with the application's runtime role
// (spotcheck_runtime, migration 00082) as its user: the application
// connects so, and may not change the audit trail or any trigger.
func RuntimeURL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	u.User = url.User("spotcheck_runtime")
	return u.String()
}

// RuntimeDB opens the package's database as the runtime role; the handle
// is closed when t ends.
func RuntimeDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", RuntimeURL(DatabaseURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newMigrated(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	u := NewDatabase(t)
	db, err := sqlx.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, u
}

// NewDatabase creates another empty, unmigrated database on the test server
// and returns its URL; for tests of migrations themselves.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin, err := server()
	if err != nil {
		t.Fatalf("test database server: %v", err)
	}
	name := "spotcheck_test_" + packageName() + "_" + randomSuffix()
	if err := pgcluster.CreateDatabase(context.Background(), admin, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropDatabase(admin, name) })
	return withDatabase(admin, name)
}

func dropDatabase(admin, name string) {
	db, err := sqlx.Open("postgres", admin)
	if err != nil {
		return
	}
	defer db.Close()
	_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
}

func withDatabase(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		return serverURL
	}
	u.Path = "/" + name
	return u.String()
}

// TemporalAddress returns host:port of a Temporal dev server shared by the
// package's tests (namespace "default").
func TemporalAddress(t testing.TB) string {
	t.Helper()
	tsOnce.Do(func() {
		cli, err := TemporalCLI()
		if err != nil {
			tsErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath:  cli, // never download: the binary is built from the module proxy
			LogLevel:      "error",
			ClientOptions: &client.Options{Namespace: "default"},
			Stdout:        discard{}, Stderr: discard{},
		})
		if err != nil {
			tsErr = fmt.Errorf("start Temporal dev server %s: %w", cli, err)
			return
		}
		tsAddr = s.FrontendHostPort()
		atExit(func() { _ = s.Stop() })
	})
	if tsErr != nil {
		t.Fatalf("Temporal dev server: %v", tsErr)
	}
	return tsAddr
}

// TemporalCLI locates the Temporal CLI: $TEMPORAL_CLI, else bin/temporal at
// the module root.
func TemporalCLI() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" && filepath.IsAbs(p) {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no Temporal CLI at %s: run `make bin/temporal` (or `make test`, which builds it)", p)
	}
	return p, nil
}

// ModuleRoot walks up from the working directory to the folder holding
// go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func packageName() string {
	wd, _ := os.Getwd()
	s := strings.ToLower(filepath.Base(wd))
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
