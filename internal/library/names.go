package library

import (
	"context"
	"fmt"
)

// A NameKind is what a filter names by code or Chinese name.
type NameKind string

// The kinds of library entry a filter may name.
const (
	RegionName     NameKind = "region"
	DepartmentName NameKind = "department"
	ItemName       NameKind = "item"
)

var sqlCodesNamed = map[NameKind]string{
	RegionName:     `SELECT code FROM regions WHERE code = $1 OR name = $1 ORDER BY code`,
	DepartmentName: `SELECT code FROM departments WHERE code = $1 OR name = $1 ORDER BY code`,
	ItemName:       `SELECT DISTINCT code FROM check_items WHERE code = $1 OR name = $1 ORDER BY code`,
}

// CodesNamed are the codes of the entries of kind whose code or name is v.
func (s *Store) CodesNamed(ctx context.Context, kind NameKind, v string) ([]string, error) {
	q, ok := sqlCodesNamed[kind]
	if !ok {
		return nil, fmt.Errorf("no names of kind %q", kind)
	}
	var codes []string
	if err := s.db.SelectContext(ctx, &codes, q, v); err != nil {
		return nil, fmt.Errorf("resolve %s %q: %w", kind, v, err)
	}
	return codes, nil
}
