package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Store reads and writes the item list, the two libraries, regions and
// departments in PostgreSQL. Every write runs in one transaction that names
// its actor, so the change triggers record who made it; bad input, missing
// records, stale versions and illegal transitions come back as fault errors.
type Store struct {
	db *sqlx.DB
	// now is the clock that says which day "today" is (items take effect
	// today unless told otherwise); tests set it to fixed days.
	now func() time.Time
}

// NewStore returns a Store over db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db, now: time.Now} }

// WithClock makes s read the time from now and returns s.
func (s *Store) WithClock(now func() time.Time) *Store {
	s.now = now
	return s
}

// today is the current date in China.
func (s *Store) today() workday.Date { return workday.DateOf(s.now()) }

// Actor says who makes a change and through which channel; both end up in
// library_changes.
type Actor struct {
	// Name identifies the person or system, e.g. a user name.
	Name string
	// Source is the channel: "api" (the default when empty), "import", ...
	Source string
}

// Page sizes of list methods.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// write runs fn in a transaction whose change records carry by.
func (s *Store) write(ctx context.Context, by Actor, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("library: begin transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	source := by.Source
	if source == "" {
		source = "api"
	}
	// SET LOCAL cannot take bind parameters; set_config(..., true) is its
	// parameterised equivalent, scoped to this transaction.
	if _, err := tx.ExecContext(ctx,
		`SELECT set_config('spotcheck.actor', $1, true), set_config('spotcheck.source', $2, true)`,
		strings.ReplaceAll(by.Name, "\x00", ""), strings.ReplaceAll(source, "\x00", "")); err != nil {
		return fmt.Errorf("library: set actor: %w", err)
	}
	if err := fn(tx); err != nil {
		return dbFault(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("library: commit: %w", dbFault(err))
	}
	return nil
}

// dbFault classifies the database errors that can only come from input the
// validation above did not catch (a race on a unique key, a constraint
// added later), so that they reach the caller as 4xx and not as a server
// failure. Anything else is returned unchanged.
func dbFault(err error) error {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch code := pe.SQLState(); {
	case code == "23505":
		return fault.New(fault.Conflict, "%s already exists", strings.TrimSuffix(strings.TrimPrefix(pe.Detail, "Key "), " already exists."))
	case code == "23503":
		return fault.New(fault.Invalid, "a referenced record does not exist: %s", pe.Detail)
	case code == "40001" || code == "40P01":
		return fault.New(fault.Conflict, "the change collided with another one made at the same time; try again")
	case strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23"):
		return fault.New(fault.Invalid, "the database refused the value: %s", pe.Message)
	}
	return err
}

// isUnique reports whether err violates the unique constraint named.
func isUnique(err error, constraint string) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.SQLState() == "23505" && pe.Constraint == constraint
}

// notFound turns sql.ErrNoRows into a NotFound fault with msg.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, format, args...)
	}
	return dbFault(err)
}

// unstorable reports whether s cannot be stored in PostgreSQL text (a NUL
// byte or invalid UTF-8): no record has such a key, and sending it to the
// server would only make it fail.
func unstorable(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)
}

// readErr wraps an error of a read, classifying the database's refusals.
func readErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return dbFault(fmt.Errorf("library: %s: %w", what, err))
}

// scanner is a row or rows.
type scanner interface {
	Scan(dest ...any) error
}

// likePattern makes a case-insensitive substring pattern of q for ILIKE
// ... ESCAPE '\'.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// args collects bind parameters and hands out their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}
