package staffing

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// SetAsideInput asks to leave one drawn object of a county out of its
// match: nobody of the county may inspect it.
type SetAsideInput struct {
	BatchID   string `json:"batch_id"`
	County    string `json:"county"`
	ObjectKey string `json:"object_key"`
	Reason    string `json:"reason"`
	By        string `json:"by"`
}

// SetAside is an object left out of its county's match, as recorded.
type SetAside struct {
	BatchID   string `json:"batch_id" db:"batch_id"`
	ObjectKey string `json:"object_key" db:"object_key"`
	County    string `json:"county" db:"county_code"`
	Reason    string `json:"reason" db:"reason"`
	SetBy     string `json:"set_by" db:"set_by"`
	SetAt     string `json:"set_at" db:"set_at"`
}

// SetAside records that in.ObjectKey is left out of the match of county
// in.County, with its reason and an audit entry, and writes its task row
// as set_aside. It is only possible before the county is matched: the
// match then runs over the other objects, and its proof lists only them
// (DRAW-SPEC §2 unchanged). Repeating the same request returns the record.
func (s *Service) SetAside(ctx context.Context, in SetAsideInput) (SetAside, error) {
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		return SetAside{}, fault.Field("reason", "say why nobody of the county can inspect the object (e.g. every qualified inspector is recused)")
	case utf8.RuneCountInString(reason) > maxReason:
		return SetAside{}, fault.Field("reason", "must be at most %d characters", maxReason)
	case in.ObjectKey == "":
		return SetAside{}, fault.Field("object_key", "is required")
	}
	var out SetAside
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockCounty(ctx, tx, in.BatchID, in.County); err != nil {
			return err
		}
		if _, err := readBatch(ctx, tx, in.BatchID); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, setAsideQuery+` WHERE batch_id = $1 AND object_key = $2`, in.BatchID, in.ObjectKey)
		if err == nil {
			if out.Reason != reason {
				return fault.New(fault.Conflict, "object %s of batch %s was already set aside by %s: %s", in.ObjectKey, in.BatchID, out.SetBy, out.Reason)
			}
			return nil
		}
		var drawn bool
		if err := tx.GetContext(ctx, &drawn, `SELECT EXISTS (SELECT 1 FROM batch_objects WHERE batch_id = $1 AND object_key = $2 AND county_code = $3)`,
			in.BatchID, in.ObjectKey, in.County); err != nil {
			return fmt.Errorf("read object %s of batch %s: %w", in.ObjectKey, in.BatchID, err)
		}
		if !drawn {
			return fault.New(fault.NotFound, "object %s is not a drawn object of county %s in batch %s", in.ObjectKey, in.County, in.BatchID)
		}
		var matched bool
		if err := tx.GetContext(ctx, &matched, `SELECT EXISTS (SELECT 1 FROM matches WHERE batch_id = $1 AND county_code = $2 AND kind = 'match')`,
			in.BatchID, in.County); err != nil {
			return fmt.Errorf("read the match of county %s in batch %s: %w", in.County, in.BatchID, err)
		}
		if matched {
			return fault.New(fault.Conflict, "county %s of batch %s is already matched: an object is set aside before the match (replace single inspectors instead)",
				in.County, in.BatchID)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO match_set_asides (batch_id, object_key, county_code, reason, set_by) VALUES ($1, $2, $3, $4, $5)`,
			in.BatchID, in.ObjectKey, in.County, reason, in.By); err != nil {
			return fmt.Errorf("set aside object %s of batch %s: %w", in.ObjectKey, in.BatchID, err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO tasks (batch_id, object_key, county_code, stage) VALUES ($1, $2, $3, 'set_aside')
			ON CONFLICT (batch_id, object_key) DO UPDATE SET stage = 'set_aside', updated_at = now()`,
			in.BatchID, in.ObjectKey, in.County); err != nil {
			return fmt.Errorf("write the task of object %s of batch %s: %w", in.ObjectKey, in.BatchID, err)
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{
			Actor: in.By, Action: "match.set_aside", Entity: "match", EntityID: in.BatchID + "/" + in.County,
			Payload: map[string]any{"batch_id": in.BatchID, "county_code": in.County, "object_key": in.ObjectKey, "reason": reason},
		}); err != nil {
			return err
		}
		return tx.GetContext(ctx, &out, setAsideQuery+` WHERE batch_id = $1 AND object_key = $2`, in.BatchID, in.ObjectKey)
	})
	return out, err
}

const setAsideQuery = `SELECT batch_id, object_key, county_code, reason, set_by, to_char(set_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS set_at FROM match_set_asides`

// SetAsides lists the objects set aside in a batch, of one county when
// county is not empty, in key order.
func (s *Service) SetAsides(ctx context.Context, batchID, county string) ([]SetAside, error) {
	list := []SetAside{}
	if err := s.db.SelectContext(ctx, &list, setAsideQuery+` WHERE batch_id = $1 AND ($2 = '' OR county_code = $2) ORDER BY object_key`,
		batchID, county); err != nil {
		return nil, fmt.Errorf("read the objects set aside in batch %s: %w", batchID, err)
	}
	return list, nil
}
