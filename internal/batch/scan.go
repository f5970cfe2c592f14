package batch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// A blockRange is a range of pages of the objects table: from ≤ page < to,
// to < 0 meaning to the end.
type blockRange struct{ from, to int64 }

var wholeTable = blockRange{0, -1}

// minSharedScan is the default size of the objects table, in pages, from
// which a freeze shares its scan among connections: below it, opening them
// costs more than they save.
const minSharedScan = 2048 // 16 MB

// helperWait is how long a freeze waits for a spare connection to share
// its scan with.
const helperWait = 100 * time.Millisecond

// validSnapshot matches what pg_export_snapshot returns; the snapshot ID
// is written into SET TRANSACTION SNAPSHOT, which takes no parameters.
var validSnapshot = regexp.MustCompile(`^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$`)

// scanPopulation runs the population query of the freeze in tx, a
// repeatable-read transaction, sharing the scan of a large objects table
// among s.scanParts connections: each reads a range of its pages in the
// snapshot of tx, so that together they see exactly what tx sees.
// PostgreSQL runs one query on one processor; the grouping that makes the
// query fast also keeps it from using parallel workers.
func (s *Service) scanPopulation(ctx context.Context, tx *sqlx.Tx, r *rules, batchID string, now time.Time, want keysWanted) ([]group, error) {
	parts := int64(s.scanParts)
	var pages int64
	if parts > 1 {
		if err := tx.GetContext(ctx, &pages, `SELECT pg_relation_size('objects') / current_setting('block_size')::bigint`); err != nil {
			return nil, fmt.Errorf("size of the objects table: %w", err)
		}
	}
	if parts < 2 || pages < s.sharedScanFrom {
		return queryGroups(ctx, tx, r, batchID, now, want, wholeTable)
	}
	// Take the other connections first: if the pool has none to spare,
	// scan alone rather than wait for one while holding this one.
	helpers := make([]*sqlx.Conn, parts)
	defer func() {
		for _, c := range helpers {
			if c != nil {
				c.Close()
			}
		}
	}()
	for p := 1; p < int(parts); p++ {
		wait, cancel := context.WithTimeout(ctx, helperWait)
		c, err := s.db.Connx(wait)
		cancel()
		if err != nil {
			return queryGroups(ctx, tx, r, batchID, now, want, wholeTable)
		}
		helpers[p] = c
	}
	var snapshot string
	if err := tx.GetContext(ctx, &snapshot, `SELECT pg_export_snapshot()`); err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	if !validSnapshot.MatchString(snapshot) {
		return nil, fmt.Errorf("unexpected snapshot ID %q", snapshot)
	}

	results := make([][]group, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := int64(1); p < parts; p++ {
		blocks := blockRange{pages * p / parts, pages * (p + 1) / parts}
		if p == parts-1 {
			blocks.to = -1 // rows on pages added since are not in the snapshot, but the size was read after it
		}
		wg.Go(func() {
			htx, err := helpers[p].BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
			if err != nil {
				errs[p] = fmt.Errorf("begin shared scan: %w", err)
				return
			}
			defer htx.Rollback()
			if _, err := htx.ExecContext(ctx, `SET TRANSACTION SNAPSHOT '`+snapshot+`'`); err != nil {
				errs[p] = fmt.Errorf("import snapshot: %w", err)
				return
			}
			results[p], errs[p] = queryGroups(ctx, htx, r, batchID, now, want, blocks)
		})
	}
	results[0], errs[0] = queryGroups(ctx, tx, r, batchID, now, want, blockRange{0, pages / parts})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var groups []group
	for _, g := range results {
		groups = append(groups, g...)
	}
	return groups, nil
}

// retryable reports whether err is a serialization failure, after which
// a repeatable-read transaction may simply be run again.
func retryable(err error) bool {
	var pqe *pq.Error
	return errors.As(err, &pqe) && pqe.Code == "40001"
}
