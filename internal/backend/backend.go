// Package backend builds spotcheck's services over its one database: what
// the API, and through it the pages, reads and writes. The process builds
// one set (cmd/spotcheck); tests build theirs with the same call, so no
// handler ever holds a connection of its own.
package backend

import (
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/bulk"
	"github.com/spotcheck-gov/spotcheck/internal/cases"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/idempotency"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Services are the stores and services of one database, sharing one clock.
type Services struct {
	// Now says which day it is for the rules that depend on today
	// (deadlines, periods, missing calendar years).
	Now func() time.Time

	Accounts      *auth.Accounts
	Archive       *archive.Closer
	Audit         *audit.Trail
	Batches       *batch.Service
	Bulk          *bulk.Service
	Calendars     *workday.Store // caches the calendar between changes
	Cases         *cases.Service
	Digests       *digest.Store
	Disclosure    *disclosure.Store
	Idempotency   *idempotency.Store
	Inspections   *inspection.Store
	Library       *library.Store
	Notifications *notify.Store // contacts, notifications and their deliveries
	Plans         *plan.Service
	Staffing      *staffing.Service
	Stats         *stats.Service
}

// New builds every service over db. now is the clock of the rules that
// depend on today; nil means time.Now (tests pass fixed days).
func New(db *sqlx.DB, now func() time.Time) *Services {
	if now == nil {
		now = time.Now
	}
	return &Services{
		Now:           now,
		Accounts:      auth.NewAccounts(db),
		Archive:       &archive.Closer{DB: db, Now: now},
		Audit:         audit.NewTrail(db),
		Batches:       batch.NewService(db),
		Bulk:          bulk.NewService(db),
		Calendars:     workday.NewStore(db),
		Cases:         cases.NewService(db).WithClock(now),
		Digests:       digest.NewStore(db),
		Disclosure:    disclosure.New(db),
		Idempotency:   idempotency.NewStore(db),
		Inspections:   inspection.NewStore(db),
		Library:       library.NewStore(db).WithClock(now),
		Notifications: notify.NewStore(db),
		Plans:         plan.NewService(db).WithClock(now),
		Staffing:      staffing.NewService(db),
		Stats:         stats.NewService(db),
	}
}
