package pgtx

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Statements prepares each query once and keeps it, for the reads on a
// hot path: PostgreSQL then plans them once per connection, not on every
// request. The queries must be few (a fixed set of texts, not one per
// argument).
type Statements struct {
	db *sqlx.DB
	m  sync.Map // query text -> *sqlx.Stmt
}

// NewStatements keeps the prepared statements of db.
func NewStatements(db *sqlx.DB) *Statements { return &Statements{db: db} }

// Prepared returns the prepared statement of query, preparing it on first
// use.
func (s *Statements) Prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := s.m.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare a query: %w", err)
	}
	if prev, loaded := s.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}
