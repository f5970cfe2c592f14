package disclosure

import (
	"context"
	"fmt"
	"slices"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// WithCodes returns q with its county, department and item written as
// codes when they were given as names (海盐县, 测绘地理信息处); one that
// names nothing is refused in Chinese for the portal's reader, never
// answered with an empty list.
func (s *Store) WithCodes(ctx context.Context, q ResultQuery) (ResultQuery, error) {
	for _, f := range []struct {
		field, query, what string
		v                  *string
	}{
		{"county", `SELECT code FROM regions WHERE code = $1 OR name = $1 ORDER BY code`, "县（市、区）", &q.County},
		{"department", `SELECT code FROM departments WHERE code = $1 OR name = $1 ORDER BY code`, "部门", &q.Department},
		{"item", `SELECT DISTINCT code FROM check_items WHERE code = $1 OR name = $1 ORDER BY code`, "检查事项", &q.Item},
	} {
		if *f.v == "" {
			continue
		}
		var codes []string
		if err := s.db.SelectContext(ctx, &codes, f.query, *f.v); err != nil {
			return q, fmt.Errorf("resolve %s %q: %w", f.field, *f.v, err)
		}
		switch {
		case slices.Contains(codes, *f.v):
		case len(codes) == 1:
			*f.v = codes[0]
		case len(codes) == 0:
			return q, fault.Field(f.field, "%s“%s”不存在，请填写代码或名称，或从列表中选择", f.what, *f.v)
		default:
			return q, fault.Field(f.field, "%s“%s”对应多个，请填写代码", f.what, *f.v)
		}
	}
	return q, nil
}
