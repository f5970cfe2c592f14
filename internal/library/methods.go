package library

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// ItemMethods is a check item with the inspection methods it allows.
type ItemMethods struct {
	Code    string         `db:"code"`
	Methods pq.StringArray `db:"methods"`
}

// DrawnItemMethods lists the items a drawn object is inspected for in a
// batch, in the versions the batch drew, with their allowed methods. An
// object outside any batch (a targeted case) has none.
func (s *Store) DrawnItemMethods(ctx context.Context, batchID, objectKey string) ([]ItemMethods, error) {
	var list []ItemMethods
	err := s.db.SelectContext(ctx, &list, `
		SELECT ci.code, ci.methods
		  FROM batch_objects bo
		  JOIN batches b ON b.id = bo.batch_id
		  CROSS JOIN LATERAL jsonb_array_elements(b.rules->'items') AS it
		  JOIN check_items ci ON ci.code = it->>'code' AND ci.version = (it->>'version')::int
		 WHERE bo.batch_id = $1 AND bo.object_key = $2 AND ci.code = ANY (bo.item_codes)
		 ORDER BY ci.code`, batchID, objectKey)
	if err != nil {
		return nil, fmt.Errorf("read the items of object %s in batch %s: %w", objectKey, batchID, err)
	}
	return list, nil
}
