// Package pgtx runs a function in a database transaction: committed when
// it returns nil, rolled back otherwise, so no failure leaves a
// half-written change.
package pgtx

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Run runs f in a transaction with opts (nil for the defaults).
func Run(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, f func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
