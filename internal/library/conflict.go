package library

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

// Conflict is a declared conflict of interest (回避): the inspector is never
// matched to the object. The object need not be in the directory yet.
type Conflict struct {
	InspectorKey string    `json:"inspector_key"`
	ObjectKey    string    `json:"object_key"`
	Reason       string    `json:"reason"`
	DeclaredAt   time.Time `json:"declared_at"`
}

// ConflictInput declares a conflict of the inspector named elsewhere.
type ConflictInput struct {
	ObjectKey string `json:"object_key"`
	Reason    string `json:"reason"`
}

const conflictCols = `inspector_key, object_key, reason, declared_at`

func scanConflict(row scanner) (Conflict, error) {
	var c Conflict
	err := row.Scan(&c.InspectorKey, &c.ObjectKey, &c.Reason, &c.DeclaredAt)
	return c, err
}

// conflictObjectKey cleans an object key the way objects store theirs: a
// key that reads as a credit code once normalised is an enterprise's, kept
// in canonical form, so that the recusal finds the object.
func conflictObjectKey(s string) string {
	s = strings.TrimSpace(s)
	if n := uscc.Normalize(s); n != s && uscc.Validate(n) == nil {
		return n
	}
	return s
}

// DeclareConflict records that the inspector with inspectorKey must never
// inspect the object with in.ObjectKey.
func (s *Store) DeclareConflict(ctx context.Context, by Actor, inspectorKey string, in ConflictInput) (Conflict, error) {
	var out Conflict
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		objectKey := p.key("object_key", conflictObjectKey(in.ObjectKey))
		reason := p.line("reason", in.Reason, 500, true)
		if err := p.err("the conflict is not valid"); err != nil {
			return err
		}
		if _, err := lockInspector(ctx, tx, inspectorKey, 0); err != nil {
			return err
		}
		// A conflict binds two records of the directories: a key that names
		// no object would be a promise about nothing.
		var known bool
		if err := tx.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM objects WHERE key = $1)`, objectKey); err != nil {
			return fmt.Errorf("look up object %s: %w", objectKey, err)
		}
		if !known {
			return fault.Field("object_key", "there is no object %q in the directory", objectKey)
		}
		var err error
		out, err = scanConflict(tx.QueryRowContext(ctx, `INSERT INTO inspector_conflicts (inspector_key, object_key, reason)
			VALUES ($1, $2, $3) RETURNING `+conflictCols, inspectorKey, objectKey, reason))
		if isUnique(err, "inspector_conflicts_pkey") {
			return fault.New(fault.Conflict, "inspector %s has already declared a conflict with object %s", inspectorKey, objectKey)
		}
		return err
	})
	return out, err
}

// WithdrawConflict removes a declared conflict.
func (s *Store) WithdrawConflict(ctx context.Context, by Actor, inspectorKey, objectKey string) error {
	return s.write(ctx, by, func(tx *sqlx.Tx) error {
		if _, err := lockInspector(ctx, tx, inspectorKey, 0); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM inspector_conflicts WHERE inspector_key = $1 AND object_key = $2`,
			inspectorKey, conflictObjectKey(objectKey))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fault.New(fault.NotFound, "inspector %s has declared no conflict with object %s", inspectorKey, objectKey)
		}
		return nil
	})
}

// ConflictsOfInspector lists the inspector's declared conflicts by object
// key. It fails with NotFound if there is no such inspector.
func (s *Store) ConflictsOfInspector(ctx context.Context, inspectorKey string) ([]Conflict, error) {
	if _, err := s.Inspector(ctx, inspectorKey); err != nil {
		return nil, err
	}
	return s.conflicts(ctx, `inspector_key = $1 ORDER BY object_key`, inspectorKey)
}

// ConflictsOfObject lists the conflicts declared with the object by
// inspector key; the object need not be in the directory.
func (s *Store) ConflictsOfObject(ctx context.Context, objectKey string) ([]Conflict, error) {
	if unstorable(objectKey) {
		return []Conflict{}, nil
	}
	return s.conflicts(ctx, `object_key = $1 ORDER BY inspector_key`, objectKey)
}

func (s *Store) conflicts(ctx context.Context, where string, key string) ([]Conflict, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+conflictCols+` FROM inspector_conflicts WHERE `+where, key)
	if err != nil {
		return nil, readErr(err, "list conflicts")
	}
	defer rows.Close()
	list := []Conflict{}
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, readErr(err, "list conflicts")
		}
		list = append(list, c)
	}
	return list, readErr(rows.Err(), "list conflicts")
}
