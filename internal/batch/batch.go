// Package batch keeps the batches (批次) of the annual plans and runs their
// verifiable draw (DRAW-SPEC section 1) on the object directory:
// commit → freeze → beacon → draw → reveal, each step recorded with its time,
// each step once. The draw itself is [draw.Draw]; this package decides what
// is drawn from (the rules stored with the batch: item versions, filter,
// strata, quotas, exclusions), keeps the frozen population, the drawn list
// and the proof, and refuses every step out of order.
//
// Every method of [Service] is one transaction and may be repeated: the
// batch workflow calls them from activities, which Temporal retries.
package batch

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// A Batch is one draw under a plan, as the API shows it. The nonce is
// never part of it: it is secret until the proof reveals it.
type Batch struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	State       State     `json:"state"`
	Rules       Rules     `json:"rules"`
	Commitment  string    `json:"commitment"`
	CommittedAt time.Time `json:"committed_at"`

	PopulationHash  string         `json:"population_hash,omitempty"`
	PopulationSize  int            `json:"population_size,omitempty"`
	PopulationBytes int64          `json:"population_bytes,omitempty"` // length of the canonical TSV
	Strata          []draw.Stratum `json:"strata,omitempty"`
	Exclusions      *Exclusions    `json:"exclusions,omitempty"`
	FrozenAt        *time.Time     `json:"frozen_at,omitempty"`

	Beacon     *string    `json:"beacon,omitempty"`
	Seed       string     `json:"seed,omitempty"`
	DrawnCount *int       `json:"drawn_count,omitempty"`
	DrawnAt    *time.Time `json:"drawn_at,omitempty"`

	LockedAt *time.Time    `json:"locked_at,omitempty"`
	Counties []CountyCount `json:"counties,omitempty"` // once locked

	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"` // the ETag; +1 on every change
}

// A CountyCount is the number of drawn objects a county received.
type CountyCount struct {
	CountyCode string `json:"county_code" db:"county_code"` // empty: the object's region is unknown (deleted from the directory)
	CountyName string `json:"county_name" db:"county_name"`
	Objects    int    `json:"objects" db:"objects"`
}

// A DrawnObject is one line of a batch's drawn list.
type DrawnObject struct {
	// Position counts from 1 in the proof's order: position n is the
	// proof's drawn[n-1].
	Position  int      `json:"position"`
	ObjectKey string   `json:"object_key"`
	Name      string   `json:"name"` // the object's name in the directory now
	Stratum   string   `json:"stratum"`
	ItemCodes []string `json:"item_codes"` // every item of the batch the visit checks
	// RegionCode is the object's region in the population drawn from, as
	// frozen: the region its stratum label names when region is a
	// stratum key.
	RegionCode string `json:"region_code,omitempty"`
	RegionName string `json:"region_name,omitempty"`
	CountyCode string `json:"county_code,omitempty"` // set at lock
	CountyName string `json:"county_name,omitempty"`
	// ItemNames are the names of ItemCodes, in their order.
	ItemNames []string `json:"item_names,omitempty"`
}

// PublicProof is the draw proof as published: the fields of DRAW-SPEC
// section 3 ([draw.Proof]), with the batch's name, the rules the
// population and quotas came from, and the objects left out by reason.
// Verifiers of the spec read the first and may ignore the rest.
type PublicProof struct {
	draw.Proof
	Name       string     `json:"name"`
	Rules      Rules      `json:"rules"`
	Exclusions Exclusions `json:"exclusions"`
}

// A Service keeps batches in PostgreSQL.
type Service struct {
	db *sqlx.DB
	// nonce draws the secret nonce of a new batch; tests replay the
	// spec's vectors with theirs.
	nonce func() ([]byte, error)
	now   func() time.Time
	// scanParts is how many connections share the scan of the objects
	// table at a freeze, once it has sharedScanFrom pages.
	scanParts      int
	sharedScanFrom int64
}

// NewService returns the batch service over db.
func NewService(db *sqlx.DB) *Service {
	return &Service{db: db, nonce: draw.NewNonce, now: time.Now, scanParts: 2, sharedScanFrom: minSharedScan}
}

// batchColumns are the columns of a Batch; the nonce is not among them.
const batchColumns = `id, name, state, rules, commitment, committed_at, population_hash, population_size,
	population_bytes, strata, exclusions, frozen_at, beacon, seed, drawn_count, drawn_at, locked_at,
	created_by, created_at, updated_at, row_version`

type batchRow struct {
	ID              string         `db:"id"`
	Name            string         `db:"name"`
	State           State          `db:"state"`
	Rules           []byte         `db:"rules"`
	Commitment      string         `db:"commitment"`
	CommittedAt     time.Time      `db:"committed_at"`
	PopulationHash  sql.NullString `db:"population_hash"`
	PopulationSize  sql.NullInt64  `db:"population_size"`
	PopulationBytes sql.NullInt64  `db:"population_bytes"`
	Strata          []byte         `db:"strata"`
	Exclusions      []byte         `db:"exclusions"`
	FrozenAt        sql.NullTime   `db:"frozen_at"`
	Beacon          sql.NullString `db:"beacon"`
	Seed            sql.NullString `db:"seed"`
	DrawnCount      sql.NullInt64  `db:"drawn_count"`
	DrawnAt         sql.NullTime   `db:"drawn_at"`
	LockedAt        sql.NullTime   `db:"locked_at"`
	CreatedBy       string         `db:"created_by"`
	CreatedAt       time.Time      `db:"created_at"`
	UpdatedAt       time.Time      `db:"updated_at"`
	RowVersion      int64          `db:"row_version"`
}

func (r *batchRow) batch(detail bool) (Batch, error) {
	b := Batch{
		ID: r.ID, Name: r.Name, State: r.State, Commitment: r.Commitment, CommittedAt: r.CommittedAt.UTC(),
		PopulationHash: r.PopulationHash.String, PopulationSize: int(r.PopulationSize.Int64),
		PopulationBytes: r.PopulationBytes.Int64, FrozenAt: timePtr(r.FrozenAt), Seed: r.Seed.String,
		DrawnAt: timePtr(r.DrawnAt), LockedAt: timePtr(r.LockedAt),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.RowVersion,
	}
	if r.Beacon.Valid {
		b.Beacon = &r.Beacon.String
	}
	if r.DrawnCount.Valid {
		n := int(r.DrawnCount.Int64)
		b.DrawnCount = &n
	}
	if err := json.Unmarshal(r.Rules, &b.Rules); err != nil {
		return Batch{}, fmt.Errorf("decode rules of batch %s: %w", r.ID, err)
	}
	if !detail {
		return b, nil
	}
	if r.Strata != nil {
		if err := json.Unmarshal(r.Strata, &b.Strata); err != nil {
			return Batch{}, fmt.Errorf("decode strata of batch %s: %w", r.ID, err)
		}
	}
	if r.Exclusions != nil {
		b.Exclusions = &Exclusions{}
		if err := json.Unmarshal(r.Exclusions, b.Exclusions); err != nil {
			return Batch{}, fmt.Errorf("decode exclusions of batch %s: %w", r.ID, err)
		}
	}
	return b, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// inTx runs f in a transaction, committed if f returns nil. A
// repeatable-read transaction that meets a concurrent change is run again,
// a few times.
func (s *Service) inTx(ctx context.Context, opts *sql.TxOptions, f func(*sqlx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, opts, f)
		if err == nil || !retryable(err) || attempt == 5 {
			return err
		}
	}
}

func (s *Service) tryTx(ctx context.Context, opts *sql.TxOptions, f func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// stamp is a time as PostgreSQL keeps it, so that what is recorded and
// what is published agree to the microsecond.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// later returns the later of now and an earlier step's time, as stored: the
// steps are in order even if clocks of two servers disagree.
func later(now, prev time.Time) time.Time {
	now = stamp(now)
	if prev = stamp(prev); now.Before(prev) {
		return prev
	}
	return now
}
