// Package idempotency keeps the records of Idempotency-Key requests: the
// first request with a key claims it, its response is kept for a day, and
// the same request again is answered from the record.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"
)

// TTL is how long a key answers with its first response.
const TTL = 24 * time.Hour

const (
	claim = `WITH gone AS (DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND created_at < now() - $6::interval)
		INSERT INTO idempotency_keys (principal, key, method, path, request_hash) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (principal, key) DO NOTHING RETURNING true`
	release = `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2`
	finish  = `UPDATE idempotency_keys SET status = $3, content_type = $4, headers = $5, response = $6
		WHERE principal = $1 AND key = $2`
	read = `SELECT request_hash, status, content_type, headers, coalesce(response, '') AS response
		FROM idempotency_keys WHERE principal = $1 AND key = $2`
	sweep = `DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`
)

// ttl is TTL as a PostgreSQL interval.
var ttl = fmt.Sprintf("%d seconds", int(TTL.Seconds()))

// Store keeps the records in the idempotency_keys table.
type Store struct{ db *sqlx.DB }

// NewStore returns the store over db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// A Record is a key's request and, once finished, its response (Status 0:
// still in progress).
type Record struct {
	Hash        []byte `db:"request_hash"`
	Status      int    `db:"status"`
	ContentType string `db:"content_type"`
	Headers     []byte `db:"headers"`
	Response    []byte `db:"response"`
}

// Claim records principal's key as in progress for the request whose hash
// is sum, replacing an expired record; it reports false when the key
// already has a live record.
func (s *Store) Claim(ctx context.Context, principal, key, method, path string, sum []byte) (bool, error) {
	var inserted bool
	err := s.db.GetContext(ctx, &inserted, claim, principal, key, method, path, sum, ttl)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return inserted, nil
}

// Finish keeps the response of a claimed key.
func (s *Store) Finish(ctx context.Context, principal, key string, status int, contentType string, headers, body []byte) error {
	if _, err := s.db.ExecContext(ctx, finish, principal, key, status, contentType, headers, body); err != nil {
		return fmt.Errorf("record the response of idempotency key: %w", err)
	}
	return nil
}

// Release drops a claimed key whose request was refused or failed: it
// changed nothing, so the caller may send the corrected request with the
// same key, and refusals cannot grow the table.
func (s *Store) Release(ctx context.Context, principal, key string) error {
	if _, err := s.db.ExecContext(ctx, release, principal, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// Get reads principal's record of key; ok is false when there is none
// (released since).
func (s *Store) Get(ctx context.Context, principal, key string) (rec Record, ok bool, err error) {
	err = s.db.GetContext(ctx, &rec, read, principal, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	return rec, true, nil
}

// Sweep deletes the expired records and reports how many.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, sweep, ttl)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return res.RowsAffected()
}

// SweepEvery sweeps every interval until ctx ends, so that the table holds
// one day of keys whether or not they are ever reused.
func (s *Store) SweepEvery(ctx context.Context, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("sweep expired idempotency keys", zap.Error(err))
		} else if n > 0 {
			log.Info("expired idempotency keys removed", zap.Int64("rows", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
