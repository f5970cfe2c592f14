package library

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Change is one recorded change of the libraries: who, when, through which
// channel, and the row before and after (as stored; nil for a creation's
// before and a deletion's after).
type Change struct {
	ID        int64           `json:"id"`
	Entity    string          `json:"entity"`     // the table: objects, inspectors, check_items, inspector_conflicts
	EntityKey string          `json:"entity_key"` // key; code@version; inspector/object
	Action    string          `json:"action"`     // create, update, delete
	Actor     string          `json:"actor"`
	Source    string          `json:"source"`
	ChangedAt time.Time       `json:"changed_at"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
}

// Entity names what a history is about.
type Entity int

// The entities with a history.
const (
	// EntityObject: the object's own changes.
	EntityObject Entity = iota + 1
	// EntityInspector: the inspector's changes and its declared conflicts.
	EntityInspector
	// EntityCheckItem: every version of the item, creation and
	// publication.
	EntityCheckItem
)

func (e Entity) String() string {
	switch e {
	case EntityObject:
		return "object"
	case EntityInspector:
		return "inspector"
	case EntityCheckItem:
		return "check item"
	}
	return fmt.Sprintf("Entity(%d)", int(e))
}

// History lists the changes of one object, inspector or check item (by
// code), oldest first, a page at a time: after is the ID of the last change
// of the previous page, next the after of the following page (0 on the
// last). A record that never existed is NotFound.
func (s *Store) History(ctx context.Context, e Entity, key string, after int64, limit int) (list []Change, next int64, err error) {
	var where string
	switch e {
	case EntityObject:
		where = `entity = 'objects' AND entity_key = $1`
	case EntityInspector:
		where = `(entity = 'inspectors' AND entity_key = $1 OR
			entity = 'inspector_conflicts' AND coalesce(after, before)->>'inspector_key' = $1)`
	case EntityCheckItem:
		// Codes cannot contain "@", so the prefix names one item.
		where = `entity = 'check_items' AND left(entity_key, length($1) + 1) = $1 || '@'`
	default:
		return nil, 0, fmt.Errorf("library: history of unknown entity %v", e)
	}
	if unstorable(key) {
		return nil, 0, fault.New(fault.NotFound, "no %s has the key %q", e, key)
	}
	limit = clampLimit(limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, entity, entity_key, action, actor, source, changed_at, before, after
		FROM library_changes WHERE `+where+` AND id > $2 ORDER BY id LIMIT $3`, key, after, limit+1)
	if err != nil {
		return nil, 0, readErr(err, "history")
	}
	defer rows.Close()
	list = []Change{}
	for rows.Next() {
		var c Change
		var bj, aj []byte
		if err := rows.Scan(&c.ID, &c.Entity, &c.EntityKey, &c.Action, &c.Actor, &c.Source, &c.ChangedAt, &bj, &aj); err != nil {
			return nil, 0, readErr(err, "history")
		}
		if bj != nil {
			c.Before = bj
		}
		if aj != nil {
			c.After = aj
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, readErr(err, "history")
	}
	if len(list) == 0 && after == 0 {
		return nil, 0, fault.New(fault.NotFound, "no %s has the key %q", e, key)
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, nil
}
