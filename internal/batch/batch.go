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
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
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

// A CreateRequest asks for a new batch. ID is the caller's business ID,
// such as "2026-ZR-001".
type CreateRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Rules Rules  `json:"rules"`
	// Actor is who asks, for the record.
	Actor string `json:"-"`
}

// Create validates the request completely, stores the batch with a fresh
// secret nonce and publishes the nonce's commitment: the batch is
// committed. Creating a batch again with the same ID and the same request
// returns the existing batch; with a different request it is a conflict.
// A request whose population would be empty is refused.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Batch, error) {
	var problems []fault.Problem
	if !validBatchID.MatchString(req.ID) {
		problems = append(problems, fault.Problem{Field: "id", Message: fmt.Sprintf("%q is not a batch ID: 1 to 64 letters, digits, '.', '_' or '-', such as \"2026-ZR-001\"", req.ID)})
	}
	if p := nameProblem(req.Name); p != "" {
		problems = append(problems, fault.Problem{Field: "name", Message: p})
	}
	if err := fault.Invalids("the batch is not valid", problems); err != nil {
		return Batch{}, err
	}
	actor := req.Actor
	if actor == "" {
		actor = "system"
	}

	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		r, err := checkRules(ctx, tx, "rules", req.Rules)
		if err != nil {
			return err
		}
		digest := requestDigest(req.Name, r.Rules)
		if same, err := sameRequest(ctx, tx, req.ID, digest); err != nil || same {
			return err
		}

		now := s.now()
		groups, err := queryGroups(ctx, tx, r, req.ID, now, keysFor(r, noKeys), wholeTable)
		if err != nil {
			return err
		}
		if sim := summarize(r, groups, now); sim.Population == 0 {
			return emptyError(r, sim.Excluded)
		}

		nonce, err := s.nonce()
		if err != nil {
			return err
		}
		if len(nonce) != draw.NonceSize {
			return fmt.Errorf("nonce of %d bytes, want %d", len(nonce), draw.NonceSize)
		}
		rulesJSON, err := json.Marshal(r.Rules)
		if err != nil {
			return fmt.Errorf("encode rules: %w", err)
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO batches (id, name, state, rules, request_digest, commitment, committed_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			req.ID, req.Name, Committed, rulesJSON, digest, draw.Commitment(nonce), stamp(now), actor)
		if err != nil {
			return fmt.Errorf("store batch %s: %w", req.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Created meanwhile by a concurrent request.
			_, err := sameRequest(ctx, tx, req.ID, digest)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO batch_secrets (batch_id, nonce) VALUES ($1, $2)`, req.ID, nonce); err != nil {
			return fmt.Errorf("store nonce of batch %s: %w", req.ID, err)
		}
		for i, it := range r.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ($1, $2, $3, $4)`,
				req.ID, i, it.Code, it.Version); err != nil {
				return fmt.Errorf("store items of batch %s: %w", req.ID, err)
			}
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "draw.commit", Entity: "batch", EntityID: req.ID,
			Payload: map[string]any{"commitment": draw.Commitment(nonce), "rules": r}})
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	return s.Get(ctx, req.ID)
}

// sameRequest reports whether batch id exists with the request digest; it
// is a conflict if it exists with another.
func sameRequest(ctx context.Context, tx *sqlx.Tx, id, digest string) (bool, error) {
	var stored string
	err := tx.GetContext(ctx, &stored, `SELECT request_digest FROM batches WHERE id = $1`, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read batch %s: %w", id, err)
	case stored != digest:
		return false, fault.New(fault.Conflict, "batch %s already exists with other rules or another name; choose a new ID for a new batch", id)
	}
	return true, nil
}

// requestDigest identifies a create request by its normalised content.
func requestDigest(name string, r Rules) string {
	b, _ := json.Marshal(struct {
		Name  string `json:"name"`
		Rules Rules  `json:"rules"`
	}{name, r})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func nameProblem(name string) string {
	switch {
	case len(name) > maxNameLen:
		return fmt.Sprintf("is longer than %d bytes", maxNameLen)
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "contains a control character"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	return ""
}

// keysFor returns what the population query must return to count the
// population: a joint draw needs every key to deduplicate objects.
func keysFor(r *rules, want keysWanted) keysWanted {
	if len(r.items) > 1 {
		return allKeys
	}
	return want
}

// emptyError refuses rules under which nothing can be drawn, naming the
// part of the rules to change.
func emptyError(r *rules, excluded Excluded) error {
	field := "rules.items"
	if len(r.Filter.Kinds)+len(r.Filter.Tags)+len(r.Filter.Regions) > 0 {
		field = "rules.filter"
	}
	if excluded.Total() == 0 {
		return fault.Field(field, "the population is empty: no active object is in scope of the items and the filter")
	}
	return fault.Field(field, "the population is empty: all %d objects in scope are left out (%d inspected within the window, %d with an open follow-up, %d drawn in another open batch)",
		excluded.Total(), excluded.RecentlyInspected, excluded.OpenFollowUp, excluded.InOpenBatch)
}

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
		var cw countingWriter
		hash, err := draw.WritePopulation(&cw, mergeRuns(p.runs, p.size))
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

// Draw draws the batch with beacon, a public value unknown when the batch
// was frozen (it may be empty: the draw then rests on the commitment
// alone), stores the drawn list and the proof with the nonce revealed: the
// batch is drawn. Drawing again with the same beacon returns the same
// batch; with another beacon, or once the batch is locked, it is refused:
// a batch is drawn exactly once.
func (s *Service) Draw(ctx context.Context, id, beacon string) (Batch, error) {
	if err := draw.ValidateText("beacon", beacon); err != nil {
		return Batch{}, fault.Field("beacon", "%s; a beacon may not contain TAB, CR, LF or NUL", err.(*draw.FieldError).Problem)
	}
	if len(beacon) > maxBeaconLen {
		return Batch{}, fault.Field("beacon", "is %d bytes long, more than %d", len(beacon), maxBeaconLen)
	}
	var writeStart time.Time
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		var row struct {
			State          State          `db:"state"`
			Name           string         `db:"name"`
			Beacon         sql.NullString `db:"beacon"`
			Rules          []byte         `db:"rules"`
			Commitment     string         `db:"commitment"`
			CommittedAt    time.Time      `db:"committed_at"`
			PopulationHash sql.NullString `db:"population_hash"`
			Strata         []byte         `db:"strata"`
			Exclusions     []byte         `db:"exclusions"`
			FrozenAt       sql.NullTime   `db:"frozen_at"`
		}
		if err := lockBatch(ctx, tx, id, "state, name, beacon, rules, commitment, committed_at, population_hash, strata, exclusions, frozen_at", &row); err != nil {
			return err
		}
		switch {
		case row.State == Drawn && row.Beacon.String == beacon:
			return nil
		case row.State == Drawn:
			return fault.New(fault.Conflict, "batch %s was drawn with beacon %q; it cannot be drawn again with another beacon", id, row.Beacon.String)
		case reached(row.State, Locked):
			return fault.New(fault.Conflict, "batch %s is %s; a new draw needs a new batch", id, row.State)
		case row.State == Committed:
			return fault.New(fault.Conflict, "batch %s is committed; it must be frozen before it is drawn", id)
		case !CanTransition(row.State, Drawn):
			return fault.New(fault.Conflict, "batch %s is %s and cannot be drawn", id, row.State)
		}

		var nonce []byte
		if err := tx.GetContext(ctx, &nonce, `SELECT nonce FROM batch_secrets WHERE batch_id = $1`, id); err != nil {
			return fmt.Errorf("read nonce of batch %s: %w", id, err)
		}
		if draw.Commitment(nonce) != row.Commitment {
			return fmt.Errorf("batch %s: the stored nonce does not match the published commitment", id)
		}
		var strata []draw.Stratum
		if err := json.Unmarshal(row.Strata, &strata); err != nil {
			return fmt.Errorf("decode strata of batch %s: %w", id, err)
		}
		quotas := make(map[string]draw.Quota, len(strata))
		for _, st := range strata {
			if st.Rule == nil {
				return fmt.Errorf("batch %s: stratum %s has no stored rule", id, st.Label)
			}
			quotas[st.Label] = *st.Rule
		}
		var rules Rules
		var excl Exclusions
		if err := json.Unmarshal(row.Rules, &rules); err != nil {
			return fmt.Errorf("decode rules of batch %s: %w", id, err)
		}
		if err := json.Unmarshal(row.Exclusions, &excl); err != nil {
			return fmt.Errorf("decode exclusions of batch %s: %w", id, err)
		}

		// Once the nonce is revealed nothing can be corrected: the runs
		// are checked against their digests, taken when the population
		// was hashed and published.
		t := time.Now()
		runs, entries, err := loadPopulation(ctx, tx, id, false)
		if err != nil {
			return err
		}
		since(ctx, "read", t)
		seed := draw.Seed(id, nonce, beacon)
		res, err := draw.DrawStages(seed, entries, quotas, stages(ctx))
		if err != nil {
			return fmt.Errorf("draw batch %s: %w", id, err)
		}
		if err := sameStrata(res.Strata, strata); err != nil {
			return fmt.Errorf("draw batch %s: %w", id, err)
		}

		t = time.Now()
		drawnAt := later(s.now(), row.FrozenAt.Time)
		proof := PublicProof{
			Proof: draw.Proof{
				Algorithm:      draw.Algorithm,
				BatchID:        id,
				Commitment:     row.Commitment,
				CommittedAt:    row.CommittedAt.UTC(),
				PopulationHash: row.PopulationHash.String,
				FrozenAt:       row.FrozenAt.Time.UTC(),
				Strata:         res.Strata,
				Beacon:         beacon,
				Nonce:          hex.EncodeToString(nonce),
				Seed:           hex.EncodeToString(seed[:]),
				DrawnAt:        drawnAt,
				Drawn:          res.Drawn,
			},
			Name:       row.Name,
			Rules:      rules,
			Exclusions: excl,
		}
		proofJSON, err := json.Marshal(proof)
		if err != nil {
			return fmt.Errorf("encode proof of batch %s: %w", id, err)
		}
		writeStart = since(ctx, "proof", t)
		if err := writeDrawn(ctx, tx, id, res.Drawn, regionsOf(runs, res.Drawn)); err != nil {
			return err
		}
		return transition(ctx, tx, id, row.State, Drawn, `
			beacon = $4, seed = $5, drawn_count = $6, proof = $7, drawn_at = $8`,
			beacon, proof.Seed, len(res.Drawn), string(proofJSON), drawnAt)
	})
	if err != nil {
		return Batch{}, err
	}
	if !writeStart.IsZero() {
		since(ctx, "write", writeStart) // the drawn list, the batch row and the commit
	}
	return s.Get(ctx, id)
}

// sameStrata checks that the draw found the strata published at the
// freeze.
func sameStrata(got, want []draw.Stratum) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d strata drawn, %d frozen", len(got), len(want))
	}
	for i := range got {
		if got[i].Label != want[i].Label || got[i].Population != want[i].Population || got[i].Quota != want[i].Quota {
			return fmt.Errorf("stratum %d drawn as %s %d/%d, frozen as %s %d/%d", i,
				got[i].Label, got[i].Quota, got[i].Population, want[i].Label, want[i].Quota, want[i].Population)
		}
	}
	return nil
}

// writeDrawn stores the drawn list with each object's items and region.
func writeDrawn(ctx context.Context, tx *sqlx.Tx, id string, drawn []draw.Entry, regions []string) error {
	if len(drawn) == 0 {
		return nil
	}
	// The items of an object of a joint draw that more than one applies
	// to were stored at the freeze; any other has its label's item.
	items := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT object_key, item_codes FROM batch_population_items WHERE batch_id = $1`, id)
	if err != nil {
		return fmt.Errorf("read items of the joint objects: %w", err)
	}
	for rows.Next() {
		var key, codes string
		if err := rows.Scan(&key, &codes); err != nil {
			rows.Close()
			return fmt.Errorf("read items of the joint objects: %w", err)
		}
		items[key] = codes
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read items of the joint objects: %w", err)
	}

	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("batch_objects", "batch_id", "position", "object_key", "stratum", "item_codes", "region_code"))
	if err != nil {
		return fmt.Errorf("store drawn list of batch %s: %w", id, err)
	}
	defer stmt.Close()
	for i, e := range drawn {
		codes, ok := items[e.ObjectKey]
		if !ok {
			codes = "{" + itemOfLabel(e.Stratum) + "}"
		}
		if _, err := stmt.ExecContext(ctx, id, i+1, e.ObjectKey, e.Stratum, codes, regions[i]); err != nil {
			return fmt.Errorf("store drawn list of batch %s: %w", id, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("store drawn list of batch %s: %w", id, err)
	}
	return nil
}

// itemOfLabel returns the item code of a stratum label.
func itemOfLabel(label string) string {
	code, _, _ := strings.Cut(strings.TrimPrefix(label, "item="), ";")
	return code
}

// Lock locks the drawn list and assigns each drawn object to its county
// (锁定分配至县): the county of an object is its region as drawn, or the
// region's parent when that parent has a parent itself (a town or street
// under a county). It returns the number of objects per county. Locking
// again returns the same counts.
func (s *Service) Lock(ctx context.Context, id string) ([]CountyCount, error) {
	var counts []CountyCount
	err := s.inTx(ctx, nil, func(tx *sqlx.Tx) error {
		var row struct {
			State   State        `db:"state"`
			DrawnAt sql.NullTime `db:"drawn_at"`
		}
		if err := lockBatch(ctx, tx, id, "state, drawn_at", &row); err != nil {
			return err
		}
		if !reached(row.State, Locked) {
			if !CanTransition(row.State, Locked) {
				return fault.New(fault.Conflict, "batch %s is %s; only a drawn batch can be locked", id, row.State)
			}
			if _, err := tx.ExecContext(ctx, `
				UPDATE batch_objects bo
				SET county_code = rc.county_code FROM region_counties rc
				WHERE bo.batch_id = $1 AND rc.code = bo.region_code`, id); err != nil {
				return fmt.Errorf("assign counties of batch %s: %w", id, err)
			}
			if err := transition(ctx, tx, id, row.State, Locked, `locked_at = $4`, later(s.now(), row.DrawnAt.Time)); err != nil {
				return err
			}
		}
		var err error
		counts, err = countyCounts(ctx, tx, id)
		return err
	})
	return counts, err
}

func countyCounts(ctx context.Context, q sqlx.QueryerContext, id string) ([]CountyCount, error) {
	counts := []CountyCount{}
	err := sqlx.SelectContext(ctx, q, &counts, `
		SELECT coalesce(bo.county_code, '') AS county_code, coalesce(r.name, '') AS county_name, count(*) AS objects
		FROM batch_objects bo LEFT JOIN regions r ON r.code = bo.county_code
		WHERE bo.batch_id = $1 GROUP BY 1, 2 ORDER BY 1`, id)
	if err != nil {
		return nil, fmt.Errorf("count objects per county of batch %s: %w", id, err)
	}
	return counts, nil
}

// lockBatch reads columns of batch id into dest, locking its row for the
// transaction.
func lockBatch(ctx context.Context, tx *sqlx.Tx, id, columns string, dest any) error {
	err := tx.GetContext(ctx, dest, `SELECT `+columns+` FROM batches WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return fmt.Errorf("read batch %s: %w", id, err)
	}
	return nil
}

// transition moves batch id from one state to another, setting the
// columns of set (whose parameters start at $4) in the same statement.
func transition(ctx context.Context, tx *sqlx.Tx, id string, from, to State, set string, args ...any) error {
	if !CanTransition(from, to) {
		return fault.New(fault.Conflict, "batch %s cannot go from %s to %s", id, from, to)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE batches SET state = $3, updated_at = now(), row_version = row_version + 1, `+set+`
		WHERE id = $1 AND state = $2`, append([]any{id, from, to}, args...)...)
	if err != nil {
		return fmt.Errorf("batch %s %s → %s: %w", id, from, to, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("batch %s %s → %s: the batch changed meanwhile", id, from, to)
	}
	// Every step of the draw is in the audit trail with what it fixed.
	var after json.RawMessage
	if err := tx.GetContext(ctx, &after, `SELECT jsonb_build_object('population_hash', population_hash, 'population_size', population_size,
		'beacon', beacon, 'seed', seed, 'drawn_count', drawn_count, 'frozen_at', frozen_at, 'drawn_at', drawn_at, 'locked_at', locked_at)
		FROM batches WHERE id = $1`, id); err != nil {
		return fmt.Errorf("batch %s %s → %s: %w", id, from, to, err)
	}
	_, err = audit.Append(ctx, tx, audit.Entry{Actor: "workflow:batch/" + id, Action: "draw." + string(to), Entity: "batch", EntityID: id, Payload: after})
	return err
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

// Get returns batch id, with its strata, exclusions and, once locked, its
// counts per county.
func (s *Service) Get(ctx context.Context, id string) (Batch, error) {
	var row batchRow
	err := s.db.GetContext(ctx, &row, `SELECT `+batchColumns+` FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return Batch{}, fmt.Errorf("read batch %s: %w", id, err)
	}
	b, err := row.batch(true)
	if err != nil {
		return Batch{}, err
	}
	if b.LockedAt != nil {
		if b.Counties, err = countyCounts(ctx, s.db, id); err != nil {
			return Batch{}, err
		}
	}
	return b, nil
}

// A ListRequest selects a page of batches, newest first.
type ListRequest struct {
	State  State  // only batches in this state, if set
	Cursor string // from the previous page
	Limit  int
}

// List returns a page of batches, newest first, without their strata and
// exclusions (Get has them), and the cursor of the next page, empty on the
// last.
func (s *Service) List(ctx context.Context, req ListRequest) ([]Batch, string, error) {
	after := time.Time{}
	afterID := ""
	if req.Cursor != "" {
		ts, id, ok := strings.Cut(req.Cursor, "|")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil {
			return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
		}
		after, afterID = t, id
	}
	if req.State != "" && !knownState(req.State) {
		return nil, "", fault.Field("state", "%q is not a batch state", req.State)
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 50
	}
	var rows []batchRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+batchColumns+` FROM batches
		WHERE ($1 = '' OR state = $1) AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`,
		string(req.State), nullTime(after), afterID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list batches: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID
	}
	out := make([]Batch, len(rows))
	for i := range rows {
		b, err := rows[i].batch(false)
		if err != nil {
			return nil, "", err
		}
		out[i] = b
	}
	return out, next, nil
}

func knownState(s State) bool {
	switch s {
	case Committed, Frozen, Drawn, Locked, Archived, Cancelled, "in_progress", "published":
		return true
	}
	return false
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Drawn returns a page of batch id's drawn list in the proof's order,
// only the objects assigned to county if it is set, and the cursor of the
// next page, empty on the last.
func (s *Service) Drawn(ctx context.Context, id, county, cursor string, limit int) ([]DrawnObject, string, error) {
	after := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
		}
		after = n
	}
	if limit <= 0 {
		limit = 50
	}
	var row struct {
		State   State        `db:"state"`
		DrawnAt sql.NullTime `db:"drawn_at"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, drawn_at FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read batch %s: %w", id, err)
	}
	if !row.DrawnAt.Valid {
		return nil, "", fault.New(fault.Conflict, "batch %s is %s: it has not been drawn yet", id, row.State)
	}
	if county != "" {
		var known bool
		if err := s.db.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM regions WHERE code = $1)`, county); err != nil {
			return nil, "", fmt.Errorf("read regions: %w", err)
		}
		if !known {
			return nil, "", fault.Field("county", "%q is not a region code", county)
		}
	}
	rows, err := s.db.QueryxContext(ctx, `
		SELECT bo.position, bo.object_key, coalesce(o.name, ''), bo.stratum, bo.item_codes,
			coalesce(bo.region_code, ''), coalesce(bo.county_code, ''),
			coalesce((SELECT name FROM regions WHERE code = bo.region_code), ''),
			coalesce((SELECT name FROM regions WHERE code = bo.county_code), ''),
			ARRAY(SELECT coalesce(c.name, '') FROM unnest(bo.item_codes) WITH ORDINALITY AS u (code, n)
				LEFT JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = u.code
				LEFT JOIN check_items c ON c.code = bi.item_code AND c.version = bi.item_version ORDER BY u.n)
		FROM batch_objects bo LEFT JOIN objects o ON o.key = bo.object_key
		WHERE bo.batch_id = $1 AND bo.position > $2 AND ($3 = '' OR bo.county_code = $3)
		ORDER BY bo.position LIMIT $4`, id, after, county, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
	}
	defer rows.Close()
	objects := []DrawnObject{}
	for rows.Next() {
		var o DrawnObject
		if err := rows.Scan(&o.Position, &o.ObjectKey, &o.Name, &o.Stratum, pq.Array(&o.ItemCodes), &o.RegionCode, &o.CountyCode,
			&o.RegionName, &o.CountyName, pq.Array(&o.ItemNames)); err != nil {
			return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
		}
		objects = append(objects, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read drawn list of batch %s: %w", id, err)
	}
	next := ""
	if len(objects) > limit {
		objects = objects[:limit]
		next = strconv.Itoa(objects[limit-1].Position)
	}
	return objects, next, nil
}

// Proof returns the published draw proof of batch id, the JSON of a
// [PublicProof] exactly as stored at the draw. Before the draw there is
// none: it is not found.
func (s *Service) Proof(ctx context.Context, id string) ([]byte, error) {
	var row struct {
		State State          `db:"state"`
		Proof sql.NullString `db:"proof"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, proof FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read proof of batch %s: %w", id, err)
	}
	if !row.Proof.Valid {
		return nil, fault.New(fault.NotFound, "batch %s is %s: its draw proof is published once it is drawn", id, row.State)
	}
	return []byte(row.Proof.String), nil
}

// WritePopulation writes the frozen population of batch id to w in the
// canonical form of DRAW-SPEC (one "object_key TAB stratum" line per
// object, sorted by key), the bytes whose SHA-256 is the batch's
// population_hash. Before the freeze there is none: it is not found.
func (s *Service) WritePopulation(ctx context.Context, id string, w io.Writer) error {
	var row struct {
		State State          `db:"state"`
		Hash  sql.NullString `db:"population_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT state, population_hash FROM batches WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, "there is no batch %s", id)
	}
	if err != nil {
		return fmt.Errorf("read batch %s: %w", id, err)
	}
	if !row.Hash.Valid {
		return fault.New(fault.NotFound, "batch %s is %s: its population is published once it is frozen", id, row.State)
	}
	_, entries, err := loadPopulation(ctx, s.db, id, true)
	if err != nil {
		return err
	}
	hash, err := draw.WritePopulation(w, entries)
	if err != nil {
		return fmt.Errorf("write population of batch %s: %w", id, err)
	}
	if hash != row.Hash.String {
		return fmt.Errorf("batch %s: the stored population hashes to %s, not the published %s", id, hash, row.Hash.String)
	}
	return nil
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
