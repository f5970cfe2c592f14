package batch

// Draw: the frozen population is drawn with the beacon, by DRAW-SPEC.

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

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
