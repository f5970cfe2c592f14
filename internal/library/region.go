package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Region is a jurisdiction (辖区): a city, or a county-level unit that gets
// the drawn objects of its territory. Jiaxing's are seeded; another city
// adds its own.
type Region struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// ParentCode is the enclosing region, empty for a top-level one.
	ParentCode string    `json:"parent_code"`
	CreatedAt  time.Time `json:"created_at"`
}

// RegionInput creates a region. ParentCode accepts a region's code or name.
type RegionInput struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	ParentCode string `json:"parent_code"`
}

// Department is a department (处室/单位) that owns items and plans.
type Department struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// DepartmentInput creates a department.
type DepartmentInput struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// RegionFilter selects regions; Parent (code or name) limits the list to
// a region's direct children.
type RegionFilter struct {
	Parent string
	After  string // code of the last region of the previous page
	Limit  int
}

// unitCode is the code format of regions and departments (GB/T 2260 codes
// or local ones such as JXGQ).
var unitCode = regexp.MustCompile(`^[0-9A-Za-z-]{2,20}$`)

func (p *problems) unitCode(field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.add(field, "is required")
	case !unitCode.MatchString(s):
		p.add(field, "%q must be 2 to 20 letters, digits or hyphens", s)
	}
	return s
}

// regionCodes resolves region codes or names to codes: the result maps each
// value that names a region to its code, a code taking precedence over a
// name. Values that name nothing are absent.
func regionCodes(ctx context.Context, q sqlx.QueryerContext, values []string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	values = slices.DeleteFunc(slices.Clone(values), unstorable)
	if len(values) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx,
		`SELECT code, name FROM regions WHERE code = ANY($1) OR name = ANY($1)`, pq.Array(values))
	if err != nil {
		return nil, readErr(err, "look up regions")
	}
	defer rows.Close()
	byName := map[string]string{}
	for rows.Next() {
		var code, name string
		if err := rows.Scan(&code, &name); err != nil {
			return nil, err
		}
		out[code] = code
		byName[name] = code
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for name, code := range byName {
		if _, ok := out[name]; !ok {
			out[name] = code
		}
	}
	return out, nil
}

// resolveRegion checks one region reference (code or name) and returns its
// code, adding a problem when there is no such region.
func (p *problems) resolveRegion(ctx context.Context, q sqlx.QueryerContext, field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		p.add(field, "is required: a region code or name (GET /api/v1/regions lists them)")
		return "", nil
	}
	if unstorable(s) {
		p.add(field, "is not valid UTF-8 text")
		return "", nil
	}
	codes, err := regionCodes(ctx, q, []string{s})
	if err != nil {
		return "", err
	}
	code, ok := codes[s]
	if !ok {
		p.add(field, "no region has the code or name %q (GET /api/v1/regions lists them)", s)
	}
	return code, nil
}

// regionScope returns the codes of a region and every region below it, for
// list filters: the city's objects are its counties' objects.
const regionScope = `(WITH RECURSIVE scope AS (
		SELECT code FROM regions WHERE code = %[1]s
		UNION SELECT r.code FROM regions r JOIN scope s ON r.parent_code = s.code)
	SELECT code FROM scope)`

// filterRegion resolves a region filter value (code or name) to a code.
func (s *Store) filterRegion(ctx context.Context, field, value string) (string, error) {
	if unstorable(value) {
		return "", fault.Field(field, "is not valid UTF-8 text")
	}
	codes, err := regionCodes(ctx, s.db, []string{value})
	if err != nil {
		return "", err
	}
	code, ok := codes[value]
	if !ok {
		return "", fault.Field(field, "no region has the code or name %q", value)
	}
	return code, nil
}

const regionCols = `code, name, coalesce(parent_code, ''), created_at`

func scanRegion(row scanner) (Region, error) {
	var r Region
	err := row.Scan(&r.Code, &r.Name, &r.ParentCode, &r.CreatedAt)
	return r, err
}

// Regions lists regions in code order, a page at a time; next is the After
// of the following page, empty on the last.
func (s *Store) Regions(ctx context.Context, f RegionFilter) (list []Region, next string, err error) {
	if unstorable(f.After) {
		return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
	}
	var a args
	where := []string{"code > " + a.add(f.After)}
	if f.Parent = strings.TrimSpace(f.Parent); f.Parent != "" {
		code, err := s.filterRegion(ctx, "parent", f.Parent)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "parent_code = "+a.add(code))
	}
	limit := clampLimit(f.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+regionCols+` FROM regions WHERE `+strings.Join(where, " AND ")+
		` ORDER BY code LIMIT `+a.add(limit+1), a...)
	if err != nil {
		return nil, "", readErr(err, "list regions")
	}
	defer rows.Close()
	list = []Region{}
	for rows.Next() {
		r, err := scanRegion(rows)
		if err != nil {
			return nil, "", err
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Code
	}
	return list, next, nil
}

// Region returns the region of code.
func (s *Store) Region(ctx context.Context, code string) (Region, error) {
	if unstorable(code) {
		return Region{}, fault.New(fault.NotFound, "no region has the code %q", code)
	}
	r, err := scanRegion(s.db.QueryRowContext(ctx, `SELECT `+regionCols+` FROM regions WHERE code = $1`, code))
	return r, notFound(err, "no region has the code %q", code)
}

// CreateRegion adds a region, e.g. a county of another city.
func (s *Store) CreateRegion(ctx context.Context, by Actor, in RegionInput) (Region, error) {
	var r Region
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		code := p.unitCode("code", in.Code)
		name := p.line("name", in.Name, maxName, true)
		var parent *string
		if strings.TrimSpace(in.ParentCode) != "" {
			c, err := p.resolveRegion(ctx, tx, "parent_code", in.ParentCode)
			if err != nil {
				return err
			}
			parent = &c
		}
		if err := p.err("the region is not valid"); err != nil {
			return err
		}
		var err error
		r, err = scanRegion(tx.QueryRowContext(ctx,
			`INSERT INTO regions (code, name, parent_code) VALUES ($1, $2, $3) RETURNING `+regionCols, code, name, parent))
		switch {
		case isUnique(err, "regions_pkey"):
			return fault.New(fault.Conflict, "a region with code %s already exists", code)
		case isUnique(err, "regions_name_key"):
			return fault.New(fault.Conflict, "a region named %s already exists", name)
		}
		return err
	})
	return r, err
}

// Departments lists departments in code order, a page at a time.
func (s *Store) Departments(ctx context.Context, after string, limit int) (list []Department, next string, err error) {
	if unstorable(after) {
		return nil, "", fault.Field("cursor", "is not a cursor this server issued; start again without it")
	}
	limit = clampLimit(limit)
	rows, err := s.db.QueryContext(ctx,
		`SELECT code, name, created_at FROM departments WHERE code > $1 ORDER BY code LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, "", readErr(err, "list departments")
	}
	defer rows.Close()
	list = []Department{}
	for rows.Next() {
		var d Department
		if err := rows.Scan(&d.Code, &d.Name, &d.CreatedAt); err != nil {
			return nil, "", err
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Code
	}
	return list, next, nil
}

// CreateDepartment adds a department.
func (s *Store) CreateDepartment(ctx context.Context, by Actor, in DepartmentInput) (Department, error) {
	var d Department
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		var p problems
		code := p.unitCode("code", in.Code)
		name := p.line("name", in.Name, maxName, true)
		if err := p.err("the department is not valid"); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO departments (code, name) VALUES ($1, $2) RETURNING code, name, created_at`,
			code, name).Scan(&d.Code, &d.Name, &d.CreatedAt)
		switch {
		case isUnique(err, "departments_pkey"):
			return fault.New(fault.Conflict, "a department with code %s already exists", code)
		case isUnique(err, "departments_name_key"):
			return fault.New(fault.Conflict, "a department named %s already exists", name)
		}
		return err
	})
	return d, err
}

// departmentsExist adds a problem for each code that names no department.
func (p *problems) departmentsExist(ctx context.Context, q sqlx.QueryerContext, fields, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	var found []string
	codes = slices.Clone(codes)
	for i, c := range codes {
		if unstorable(c) {
			codes[i] = "" // names no department
		}
	}
	if err := sqlx.SelectContext(ctx, q, &found, `SELECT code FROM departments WHERE code = ANY($1)`, pq.Array(codes)); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("library: look up departments: %w", err)
	}
	for i, c := range codes {
		ok := false
		for _, f := range found {
			ok = ok || f == c
		}
		if !ok {
			p.add(fields[i], "no department has the code %q (GET /api/v1/departments lists them)", c)
		}
	}
	return nil
}

// InspectorCounty returns the county of jurisdiction of inspector key (the
// rule that assigns objects and pools to counties, view region_counties);
// NotFound when there is no such inspector.
func (s *Store) InspectorCounty(ctx context.Context, key string) (string, error) {
	var county string
	err := s.db.GetContext(ctx, &county, `SELECT rc.county_code FROM inspectors i
		JOIN region_counties rc ON rc.code = i.region_code WHERE i.key = $1`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.New(fault.NotFound, "no inspector %s", key)
	}
	if err != nil {
		return "", fmt.Errorf("read the county of inspector %s: %w", key, err)
	}
	return county, nil
}

// ItemDepartment returns the department of the latest version of check item
// code ("" for an item of no department); NotFound when there is no such
// item.
func (s *Store) ItemDepartment(ctx context.Context, code string) (string, error) {
	var dept sql.NullString
	err := s.db.GetContext(ctx, &dept, `SELECT department_code FROM check_items WHERE code = $1 ORDER BY version DESC LIMIT 1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.New(fault.NotFound, "no check item %s", code)
	}
	if err != nil {
		return "", fmt.Errorf("read the department of check item %s: %w", code, err)
	}
	return dept.String, nil
}

// TopRegion returns the region at the top of the tree (the city), the
// first by code if there are several.
func (s *Store) TopRegion(ctx context.Context) (string, error) {
	var code string
	if err := s.db.GetContext(ctx, &code, `SELECT code FROM regions WHERE parent_code IS NULL ORDER BY code LIMIT 1`); err != nil {
		return "", fmt.Errorf("read the top region: %w", err)
	}
	return code, nil
}
