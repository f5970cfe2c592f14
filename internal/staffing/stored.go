package staffing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// ProofInfo describes one stored proof of a county.
type ProofInfo struct {
	Kind           string    `json:"kind" db:"kind"`
	DepartmentCode string    `json:"department_code" db:"department_code"`
	ObjectKey      string    `json:"object_key,omitempty" db:"object_key"` // replacements
	Round          int       `json:"round" db:"round"`
	MatchSeed      string    `json:"match_seed" db:"match_seed"`
	PoolHash       string    `json:"pool_hash" db:"pool_hash"`
	CreatedAt      time.Time `json:"created_at" db:"created_at"`
	CreatedBy      string    `json:"created_by" db:"created_by"`
}

// Proofs lists the stored proofs of a county in a batch: its match (one
// per department) then its replacements, in the order they were made.
func (s *Service) Proofs(ctx context.Context, batchID, county string) ([]ProofInfo, error) {
	list := []ProofInfo{}
	if err := s.db.SelectContext(ctx, &list, `
		SELECT kind, department_code, object_key, round, match_seed, pool_hash, created_at, created_by
		FROM matches WHERE batch_id = $1 AND county_code = $2
		ORDER BY kind = 'replacement', created_at, department_code, object_key, round`, batchID, county); err != nil {
		return nil, fmt.Errorf("list the match proofs of county %s in batch %s: %w", county, batchID, err)
	}
	if len(list) == 0 {
		return nil, s.notMatched(ctx, batchID, county)
	}
	return list, nil
}

// A ProofQuery names one stored proof of a county: its match, of one
// department when Department is set (needed when several departments
// matched), or, when ObjectKey is set, the replacement of round Round
// (the latest when Round is 0) of that object.
type ProofQuery struct {
	BatchID    string
	County     string
	Department *string
	ObjectKey  string
	Round      int
}

// FindProof returns one stored proof.
func (s *Service) FindProof(ctx context.Context, q ProofQuery) (Proof, error) {
	var rows []struct {
		Department string `db:"department_code"`
		Proof      []byte `db:"proof"`
	}
	var err error
	if q.ObjectKey == "" {
		err = s.db.SelectContext(ctx, &rows, `
			SELECT department_code, proof FROM matches
			WHERE batch_id = $1 AND county_code = $2 AND kind = 'match' AND ($3::text IS NULL OR department_code = $3)
			ORDER BY department_code`, q.BatchID, q.County, q.Department)
	} else {
		err = s.db.SelectContext(ctx, &rows, `
			SELECT department_code, proof FROM matches
			WHERE batch_id = $1 AND county_code = $2 AND kind = 'replacement' AND object_key = $3 AND ($4 = 0 OR round = $4)
			ORDER BY round DESC LIMIT 1`, q.BatchID, q.County, q.ObjectKey, q.Round)
	}
	if err != nil {
		return Proof{}, fmt.Errorf("read a match proof of county %s in batch %s: %w", q.County, q.BatchID, err)
	}
	switch {
	case len(rows) == 0 && q.ObjectKey != "":
		round := "any round"
		if q.Round > 0 {
			round = fmt.Sprintf("round %d", q.Round)
		}
		return Proof{}, fault.New(fault.NotFound, "no replacement of %s for object %s in county %s of batch %s", round, q.ObjectKey, q.County, q.BatchID)
	case len(rows) == 0 && q.Department != nil:
		return Proof{}, fault.New(fault.NotFound, "department %q matched no inspectors in county %s of batch %s", *q.Department, q.County, q.BatchID)
	case len(rows) == 0:
		return Proof{}, s.notMatched(ctx, q.BatchID, q.County)
	case len(rows) > 1:
		depts := make([]string, len(rows))
		for i, r := range rows {
			depts[i] = r.Department
		}
		return Proof{}, fault.Field("department", "county %s of batch %s was matched by several departments (%s): name one",
			q.County, q.BatchID, strings.Join(depts, ", "))
	}
	var p Proof
	if err := json.Unmarshal(rows[0].Proof, &p); err != nil {
		return Proof{}, fmt.Errorf("decode the match proof of county %s in batch %s: %w", q.County, q.BatchID, err)
	}
	return p, nil
}

// notMatched explains why a county has no proof.
func (s *Service) notMatched(ctx context.Context, batchID, county string) error {
	var state string
	err := s.db.GetContext(ctx, &state, `SELECT state FROM batches WHERE id = $1`, batchID)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.New(fault.NotFound, "there is no batch %s", batchID)
	}
	if err != nil {
		return fmt.Errorf("read batch %s: %w", batchID, err)
	}
	return fault.New(fault.NotFound, "county %s of batch %s has not been matched", county, batchID)
}
