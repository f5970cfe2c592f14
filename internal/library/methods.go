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
		  JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = ANY (bo.item_codes)
		  JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
		 WHERE bo.batch_id = $1 AND bo.object_key = $2
		 ORDER BY ci.code`, batchID, objectKey)
	if err != nil {
		return nil, fmt.Errorf("read the items of object %s in batch %s: %w", objectKey, batchID, err)
	}
	return list, nil
}
