package batch

// Freeze: the population in scope is fixed and published before the beacon.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

type stagesKey struct{}

// WithStages returns ctx carrying f, which Freeze and Draw then tell how
// long each of their stages took (the draw bench prints them).
func WithStages(ctx context.Context, f func(stage string, d time.Duration)) context.Context {
	return context.WithValue(ctx, stagesKey{}, f)
}

// stages returns the stage timer of ctx, one that does nothing if none.
func stages(ctx context.Context) func(string, time.Duration) {
	if f, ok := ctx.Value(stagesKey{}).(func(string, time.Duration)); ok && f != nil {
		return f
	}
	return func(string, time.Duration) {}
}

// since tells stage of ctx the time since start and returns now.
func since(ctx context.Context, stage string, start time.Time) time.Time {
	now := time.Now()
	stages(ctx)(stage, now.Sub(start))
	return now
}

// Freeze fixes the batch's population: the objects in scope of its rules
// now, less the exclusions, each labelled with its stratum. It stores the
// population, its hash and the strata with their quotas, which are
// published before the seed can be known: the batch is frozen. Freezing a
// batch again returns it unchanged.
func (s *Service) Freeze(ctx context.Context, id string) (Batch, error) {
	// Repeatable read: the connections that share the scan of the
	// directory import this transaction's snapshot.
	err := s.inTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead}, func(tx *sqlx.Tx) error {
		var row struct {
			State       State     `db:"state"`
			Rules       []byte    `db:"rules"`
			CommittedAt time.Time `db:"committed_at"`
		}
		if err := lockBatch(ctx, tx, id, "state, rules, committed_at", &row); err != nil {
			return err
		}
		if reached(row.State, Frozen) {
			return nil
		}
		if !CanTransition(row.State, Frozen) {
			return fault.New(fault.Conflict, "batch %s is %s; only a committed batch can be frozen", id, row.State)
		}
		var stored Rules
		if err := json.Unmarshal(row.Rules, &stored); err != nil {
			return fmt.Errorf("decode rules of batch %s: %w", id, err)
		}
		r, err := checkRules(ctx, tx, "rules", stored)
		if err != nil {
			return err
		}

		now := s.now()
		t := time.Now()
		groups, err := s.scanPopulation(ctx, tx, r, id, now, keysFor(r, eligibleKeys))
		if err != nil {
			return err
		}
		t = since(ctx, "freeze.scan", t)
		p := buildPopulation(r, groups, *r.Exclusions.WindowDays > 0, now)
		if p.size == 0 {
			return emptyError(r, p.exclusions.Total)
		}
		strata, err := strata(p.runs, p.quotas)
		if err != nil {
			return fmt.Errorf("freeze batch %s: %w", id, err)
		}
		t = since(ctx, "freeze.sort", t)
		// Storing the runs and hashing the canonical form need each other
		// not: the database stores while this goroutine hashes.
		storing := make(chan error, 1)
		go func() { storing <- writePopulation(ctx, tx, id, p) }()
		// The runs are merged straight into the hash: the population in
		// key order is never held whole.
		var cw countingWriter
		pw := draw.NewPopulationWriter(&cw)
		var hash string
		err = mergeEach(p.runs, func(key, label string) error {
			return pw.Add(draw.Entry{ObjectKey: key, Stratum: label})
		})
		if err == nil {
			hash, err = pw.Sum()
		}
		if err := <-storing; err != nil {
			return err
		}
		if err != nil {
			return fmt.Errorf("freeze batch %s: %w", id, err)
		}
		since(ctx, "freeze.store+hash", t)
		strataJSON, err := json.Marshal(strata)
		if err != nil {
			return err
		}
		exclJSON, err := json.Marshal(p.exclusions)
		if err != nil {
			return err
		}
		frozenAt := later(s.now(), row.CommittedAt)
		return transition(ctx, tx, id, row.State, Frozen, `
			population_hash = $4, population_size = $5, population_bytes = $6, strata = $7, exclusions = $8, frozen_at = $9`,
			hash, p.size, cw.n, strataJSON, exclJSON, frozenAt)
	})
	if err != nil {
		return Batch{}, err
	}
	return s.Get(ctx, id)
}
