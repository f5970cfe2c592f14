package audit

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Trail is the audit trail of one database, for readers that hold a
// service rather than a connection (the API). Writers append inside their
// own transactions with Append.
type Trail struct{ db *sqlx.DB }

// NewTrail reads the audit trail of db.
func NewTrail(db *sqlx.DB) *Trail { return &Trail{db: db} }

// List returns up to limit rows matching f, newest first (see List).
func (t *Trail) List(ctx context.Context, f Filter, limit int) ([]Record, error) {
	return List(ctx, t.db, f, limit)
}

// Verify checks the whole chain (see Verify).
func (t *Trail) Verify(ctx context.Context) (Report, error) { return Verify(ctx, t.db) }

// Heads lists the published heads, oldest first.
func (t *Trail) Heads(ctx context.Context) ([]Head, error) { return Heads(ctx, t.db) }
