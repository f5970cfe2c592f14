// Package disclosure is the public record (一公开): the reads that anyone
// may make without a token, shared by the JSON and CSV endpoints under
// /public and the public portal's pages, so that both show exactly the same
// data. Nothing here returns an inspector, an officer, an unpublished item
// version, an unpublished result or a batch's secret nonce before its draw.
package disclosure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/uscc"
)

// Authority is the issuing authority of the public record.
const Authority = "嘉兴市自然资源和规划局"

// China is the zone of every public date.
var China = time.FixedZone("CST", 8*3600)

// Store reads the public record from PostgreSQL.
type Store struct {
	db      *sqlx.DB
	stmts   *pgtx.Statements
	batches *batch.Service
	plans   *plan.Service
	closer  *archive.Closer
}

// New returns the store over db.
func New(db *sqlx.DB) *Store {
	return &Store{db: db, stmts: pgtx.NewStatements(db), batches: batch.NewService(db), plans: plan.NewService(db), closer: &archive.Closer{DB: db}}
}

// Item is a published version of a check item as the public sees it.
type Item struct {
	Code             string   `json:"code"`
	Version          int      `json:"version"`
	Name             string   `json:"name"`
	SubItem          string   `json:"sub_item"`
	ObjectKind       string   `json:"object_kind"`
	Methods          []string `json:"methods"`
	Authority        string   `json:"authority"`
	LegalBasis       string   `json:"legal_basis"`
	Content          string   `json:"content"`
	Class            string   `json:"class"`
	DefaultRatio     string   `json:"default_ratio"`
	FrequencyPerYear int      `json:"frequency_per_year"`
	Department       string   `json:"department_code"`
	EffectiveFrom    string   `json:"effective_from"`
}

const itemColumns = `code, version, name, sub_item, object_kind, methods, authority, legal_basis, content, class,
	default_ratio::text, frequency_per_year, coalesce(department_code, ''), effective_from::text`

// ItemHeader is the Chinese header of an item's CSV row.
var ItemHeader = []string{"事项编码", "版本", "抽查事项", "子项", "对象类别", "检查方式", "检查主体", "检查依据", "检查内容", "事项类别", "抽查比例", "每年频次", "责任处室", "施行日期"}

// Row is the item as a CSV row under ItemHeader.
func (it Item) Row() []string {
	return []string{it.Code, fmt.Sprint(it.Version), it.Name, it.SubItem, it.ObjectKind, strings.Join(it.Methods, "；"), it.Authority,
		it.LegalBasis, it.Content, it.Class, it.DefaultRatio, fmt.Sprint(it.FrequencyPerYear), it.Department, it.EffectiveFrom}
}

func (s *Store) items(ctx context.Context, query string, args ...any) ([]Item, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read published items: %w", err)
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		var it Item
		var methods pq.StringArray
		if err := rows.Scan(&it.Code, &it.Version, &it.Name, &it.SubItem, &it.ObjectKind, &methods, &it.Authority, &it.LegalBasis,
			&it.Content, &it.Class, &it.DefaultRatio, &it.FrequencyPerYear, &it.Department, &it.EffectiveFrom); err != nil {
			return nil, fmt.Errorf("read published items: %w", err)
		}
		it.Methods = []string(methods)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read published items: %w", err)
	}
	return out, nil
}

// Items returns the latest published version of each item with a code
// after after, by code, at most limit, and the code to continue after
// (empty on the last page).
func (s *Store) Items(ctx context.Context, after string, limit int) ([]Item, string, error) {
	items, err := s.items(ctx, `SELECT DISTINCT ON (code) `+itemColumns+`
		FROM check_items WHERE published AND code > $1 ORDER BY code, version DESC LIMIT $2`, after, limit+1)
	if err != nil || len(items) <= limit {
		return items, "", err
	}
	return items[:limit], items[limit-1].Code, nil
}

// ItemVersions returns every published version of item code, oldest
// first: its history. An item with none is not found.
func (s *Store) ItemVersions(ctx context.Context, code string) ([]Item, error) {
	items, err := s.items(ctx, `SELECT `+itemColumns+` FROM check_items WHERE published AND code = $1 ORDER BY version`, code)
	if err == nil && len(items) == 0 {
		err = fault.New(fault.NotFound, "check item %s has no published version", code)
	}
	return items, err
}

// A Change is one field that differs between two versions of an item.
type Change struct {
	Field    string `json:"field"` // the Chinese column name of ItemHeader
	Old, New string
}

// Changes lists what changed from one version of an item to the next, in
// the order of ItemHeader (the version number itself left out).
func Changes(old, next Item) []Change {
	a, b := old.Row(), next.Row()
	var out []Change
	for i := range a {
		if i == 1 || a[i] == b[i] {
			continue
		}
		out = append(out, Change{Field: ItemHeader[i], Old: a[i], New: b[i]})
	}
	return out
}

// Result is a published inspection result (抽查结果公示): no inspector's
// personal data.
type Result struct {
	BatchID     string   `json:"batch_id"`
	ObjectKey   string   `json:"object_key"`
	ObjectName  string   `json:"object_name"`
	County      string   `json:"county"`
	CountyName  string   `json:"county_name"`
	Items       []string `json:"items"`
	ResultCode  string   `json:"result_code"`
	Result      string   `json:"result"` // the result's Chinese term
	InspectedOn string   `json:"inspected_on,omitempty"`
	PublishedOn string   `json:"published_on"`
	Authority   string   `json:"authority"`
}

// ResultHeader is the Chinese header of a result's CSV or XLSX row.
var ResultHeader = []string{"批次", "对象标识", "对象名称", "县（市、区）", "检查事项", "检查结果", "结果代码", "检查日期", "公示日期", "检查主体"}

// Row is the result as a row under ResultHeader.
func (r Result) Row() []string {
	return []string{r.BatchID, r.ObjectKey, r.ObjectName, r.CountyName, strings.Join(r.Items, "；"), r.Result, r.ResultCode,
		r.InspectedOn, r.PublishedOn, r.Authority}
}

// A ResultQuery selects published results; every field is optional.
type ResultQuery struct {
	Batch      string
	County     string // region code of the county that inspected
	Object     string // exactly this object key
	Department string // department responsible for one of the items
	Item       string // item code
	Result     string // result code
	Year       int    // year of publication (China time)
	// Text is part of the object's name or key; a whole unified social
	// credit code finds that object by its key alone.
	Text string
	// After is the (batch, object key) to continue after.
	AfterBatch, AfterKey string
	Limit                int
}

// Check refuses a query no result can match because it is malformed.
func (q ResultQuery) Check() error {
	if len(q.Text) > 200 {
		return fault.Field("q", "is longer than 200 bytes")
	}
	if q.Result != "" && inspection.ResultChinese(q.Result) == "" {
		return fault.Field("result", "%q is not a result code", q.Result)
	}
	if q.Year != 0 && (q.Year < 2000 || q.Year > 2100) {
		return fault.Field("year", "give a year such as 2026, not %d", q.Year)
	}
	return nil
}

// Results returns published results by batch and object key, at most
// q.Limit, and whether more follow.
func (s *Store) Results(ctx context.Context, q ResultQuery) ([]Result, bool, error) {
	if err := q.Check(); err != nil {
		return nil, false, err
	}
	like, key := "", ""
	if t := strings.TrimSpace(q.Text); t != "" {
		if uscc.Validate(strings.ToUpper(t)) == nil {
			key = strings.ToUpper(t)
		} else {
			like = "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(t) + "%"
		}
	}
	if q.Object != "" {
		key = q.Object
	}
	// Only the filters given are in the query, and each shape of it is a
	// prepared statement: PostgreSQL plans the common ones (the first page,
	// a search by credit code) once per connection, not on every request.
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.AfterBatch != "" || q.AfterKey != "" {
		args = append(args, q.AfterBatch, q.AfterKey)
		where = append(where, fmt.Sprintf("(p.batch_id, p.object_key) > ($%d, $%d)", len(args)-1, len(args)))
	}
	for _, f := range []struct {
		cond string
		v    string
	}{
		{"p.batch_id = ?", q.Batch}, {"p.county_code = ?", q.County}, {"(p.object_name ILIKE ? OR p.object_key ILIKE ?)", like},
		{"p.object_key = ?", key}, {"?::text = ANY (p.item_codes)", q.Item}, {"?::text = ANY (p.item_departments)", q.Department},
		{"p.result_code = ?", q.Result},
	} {
		if f.v != "" {
			add(f.cond, f.v)
		}
	}
	if q.Year != 0 {
		add(`p.published_at >= make_timestamptz(?::int, 1, 1, 0, 0, 0, 'Asia/Shanghai')
		     AND p.published_at < make_timestamptz(?::int + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai')`, q.Year)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit+1)
	stmt, err := s.stmts.Prepared(ctx, resultsQuery+cond+fmt.Sprintf(" ORDER BY p.batch_id, p.object_key LIMIT $%d", len(args)))
	if err != nil {
		return nil, false, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, false, fmt.Errorf("read published results: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var r Result
		var items pq.StringArray
		if err := rows.Scan(&r.BatchID, &r.ObjectKey, &r.ObjectName, &r.County, &r.CountyName, &items, &r.ResultCode,
			&r.InspectedOn, &r.PublishedOn, &r.Authority); err != nil {
			return nil, false, fmt.Errorf("read published results: %w", err)
		}
		r.Items, r.Result = []string(items), inspection.ResultChinese(r.ResultCode)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read published results: %w", err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

// resultsQuery reads the publications' own snapshot (migration 00106): one
// table in key order, no lookup per row.
const resultsQuery = `
	SELECT p.batch_id, p.object_key, p.object_name, p.county_code, p.county_name, p.item_names, p.result_code,
	       p.inspected_on, (p.published_at AT TIME ZONE 'Asia/Shanghai')::date::text, p.authorities
	FROM publications p
	`

// PublishedIn counts the results published in year (China time).
func (s *Store) PublishedIn(ctx context.Context, year int) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM publications
		WHERE published_at >= make_timestamptz($1, 1, 1, 0, 0, 0, 'Asia/Shanghai')
		  AND published_at < make_timestamptz($1 + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai')`, year)
	if err != nil {
		return 0, fmt.Errorf("count results published in %d: %w", year, err)
	}
	return n, nil
}

// An Option is one value a filter of the results can take.
type Option struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Filters are the values the results can be filtered by, from the small
// public lists (the counties, the published items and their departments),
// so that the results page costs no scan of the results.
type Filters struct {
	Years       []int    `json:"years"`
	Departments []Option `json:"departments"`
	Counties    []Option `json:"counties"`
	Items       []Option `json:"items"`
	Results     []Option `json:"results"`
}

const filtersQuery = `
		(SELECT 'county' AS list, code, name FROM regions WHERE parent_code IS NOT NULL ORDER BY code)
		UNION ALL
		(SELECT DISTINCT ON (code) 'item', code, name FROM check_items WHERE published ORDER BY code, version DESC)
		UNION ALL
		(SELECT 'department', d.code, d.name FROM departments d
		 WHERE EXISTS (SELECT 1 FROM check_items ci WHERE ci.published AND ci.department_code = d.code) ORDER BY d.code)
		ORDER BY 1, 2`

// ResultFilters returns the values of the results' filters: the years
// from thisYear back five years.
func (s *Store) ResultFilters(ctx context.Context, thisYear int) (Filters, error) {
	f := Filters{}
	for y := thisYear; y > thisYear-6; y-- {
		f.Years = append(f.Years, y)
	}
	// One round trip: the results page reads them on every request.
	var rows []struct{ List, Code, Name string }
	stmt, err := s.stmts.Prepared(ctx, filtersQuery)
	if err == nil {
		err = stmt.SelectContext(ctx, &rows)
	}
	if err != nil {
		return f, fmt.Errorf("read result filters: %w", err)
	}
	f.Counties, f.Items, f.Departments = []Option{}, []Option{}, []Option{}
	lists := map[string]*[]Option{"county": &f.Counties, "item": &f.Items, "department": &f.Departments}
	for _, r := range rows {
		*lists[r.List] = append(*lists[r.List], Option{Code: r.Code, Name: r.Name})
	}
	for _, r := range inspection.ResultCodes {
		f.Results = append(f.Results, Option{Code: r.Code, Name: r.Chinese})
	}
	return f, nil
}
