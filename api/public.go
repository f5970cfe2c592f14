package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

// publicRoutes registers the public disclosure (一公开) reads: the item list
// with its history, drawn lists, published results. No token; JSON, or CSV
// with ?format=csv; cacheable (ETag, Cache-Control); the whole /public group
// is rate-limited per client IP (see NewHandler).
func (s *Server) publicRoutes(pub *gin.RouterGroup) {
	h := &publicAPI{s: s, batches: batch.NewService(s.d.DB)}
	pub.GET("/check-items", h.checkItems)
	pub.GET("/check-items/:code/versions", h.checkItemVersions)
	pub.GET("/batches/:id/drawn", h.drawn)
	pub.GET("/results", h.results)
}

type publicAPI struct {
	s       *Server
	batches *batch.Service
}

// PublicItem is a published version of a check item as the public sees it.
type PublicItem struct {
	Code             string   `json:"code" db:"code"`
	Version          int      `json:"version" db:"version"`
	Name             string   `json:"name" db:"name"`
	SubItem          string   `json:"sub_item" db:"sub_item"`
	ObjectKind       string   `json:"object_kind" db:"object_kind"`
	Methods          []string `json:"methods" db:"-"`
	Authority        string   `json:"authority" db:"authority"`
	LegalBasis       string   `json:"legal_basis" db:"legal_basis"`
	Content          string   `json:"content" db:"content"`
	Class            string   `json:"class" db:"class"`
	DefaultRatio     string   `json:"default_ratio" db:"default_ratio"`
	FrequencyPerYear int      `json:"frequency_per_year" db:"frequency_per_year"`
	Department       string   `json:"department_code" db:"department_code"`
	EffectiveFrom    string   `json:"effective_from" db:"effective_from"`
}

const publicItemColumns = `code, version, name, sub_item, object_kind, methods, authority, legal_basis, content, class,
	default_ratio::text, frequency_per_year, coalesce(department_code, ''), effective_from::text`

func scanPublicItem(row interface{ Scan(...any) error }) (PublicItem, error) {
	var it PublicItem
	var methods pq.StringArray
	err := row.Scan(&it.Code, &it.Version, &it.Name, &it.SubItem, &it.ObjectKind, &methods, &it.Authority, &it.LegalBasis,
		&it.Content, &it.Class, &it.DefaultRatio, &it.FrequencyPerYear, &it.Department, &it.EffectiveFrom)
	it.Methods = []string(methods)
	return it, err
}

var itemCSVHeader = []string{"事项编码", "版本", "抽查事项", "子项", "对象类别", "检查方式", "检查主体", "检查依据", "检查内容", "事项类别", "抽查比例", "每年频次", "责任处室", "施行日期"}

func (it PublicItem) csvRow() []string {
	return []string{it.Code, fmt.Sprint(it.Version), it.Name, it.SubItem, it.ObjectKind, strings.Join(it.Methods, "；"), it.Authority,
		it.LegalBasis, it.Content, it.Class, it.DefaultRatio, fmt.Sprint(it.FrequencyPerYear), it.Department, it.EffectiveFrom}
}

// checkItems answers GET /public/check-items: the latest published version
// of every item, by code.
func (h *publicAPI) checkItems(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	rows, err := h.s.d.DB.QueryContext(c.Request.Context(), `SELECT DISTINCT ON (code) `+publicItemColumns+`
		FROM check_items WHERE published AND code > $1 ORDER BY code, version DESC LIMIT $2`, cursor, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	defer rows.Close()
	page := Page[PublicItem]{Items: []PublicItem{}}
	for rows.Next() {
		it, err := scanPublicItem(rows)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		h.s.fail(c, err)
		return
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(page.Items[limit-1].Code)
	}
	respondPublic(c, q.Get("format"), "check-items", page, itemCSVHeader, rowsOf(page.Items, PublicItem.csvRow))
}

// checkItemVersions answers GET /public/check-items/{code}/versions: every
// published version of one item, oldest first (its history).
func (h *publicAPI) checkItemVersions(c *gin.Context) {
	q, err := checkQuery(c, "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	code := c.Param("code")
	rows, err := h.s.d.DB.QueryContext(c.Request.Context(), `SELECT `+publicItemColumns+`
		FROM check_items WHERE published AND code = $1 ORDER BY version`, code)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	defer rows.Close()
	page := Page[PublicItem]{Items: []PublicItem{}}
	for rows.Next() {
		it, err := scanPublicItem(rows)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		h.s.fail(c, err)
		return
	}
	if len(page.Items) == 0 {
		h.s.fail(c, fault.New(fault.NotFound, "check item %s has no published version", code))
		return
	}
	respondPublic(c, q.Get("format"), "check-item-"+code, page, itemCSVHeader, rowsOf(page.Items, PublicItem.csvRow))
}

// drawn answers GET /public/batches/{id}/drawn: the drawn list of a drawn
// batch (409 before its draw), in the proof's order, ?county= to narrow.
func (h *publicAPI) drawn(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "county", "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items, next, err := h.batches.Drawn(c.Request.Context(), c.Param("id"), q.Get("county"), cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[batch.DrawnObject]{Items: items, NextCursor: encodeCursor(next)}
	header := []string{"序号", "对象标识", "对象名称", "分层", "检查事项", "所属区域", "承办县（市、区）"}
	respondPublic(c, q.Get("format"), "drawn-"+c.Param("id"), page, header, rowsOf(items, func(d batch.DrawnObject) []string {
		return []string{fmt.Sprint(d.Position), d.ObjectKey, d.Name, d.Stratum, strings.Join(d.ItemCodes, "；"), d.RegionCode, d.CountyCode}
	}))
}

// PublicResult is a published inspection result (抽查结果公示): no
// inspector's personal data.
type PublicResult struct {
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

var resultTerms = func() map[string]string {
	m := map[string]string{}
	for _, r := range inspection.ResultCodes {
		m[r.Code] = r.Chinese
	}
	return m
}()

// results answers GET /public/results?batch=&county=&q=: published results,
// by batch and object key.
func (h *publicAPI) results(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "batch", "county", "q", "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	if err == nil && len(q.Get("q")) > 200 {
		err = fault.Field("q", "is longer than 200 bytes")
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	afterBatch, afterKey, _ := strings.Cut(cursor, "/")
	like := ""
	if s := q.Get("q"); s != "" {
		like = "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
	}
	rows, err := h.s.d.DB.QueryContext(c.Request.Context(), `
		SELECT p.batch_id, p.object_key, coalesce(o.name, ''), t.county_code, coalesce(rg.name, ''),
		       coalesce(it.names, '{}'), coalesce(r.result_code, ''), coalesce(t.inspected_on::text, ''),
		       (p.published_at AT TIME ZONE 'Asia/Shanghai')::date::text, coalesce(it.authorities, '')
		FROM publications p
		JOIN tasks t ON t.batch_id = p.batch_id AND t.object_key = p.object_key
		LEFT JOIN objects o ON o.key = p.object_key
		LEFT JOIN regions rg ON rg.code = t.county_code
		LEFT JOIN LATERAL (SELECT result_code FROM results r WHERE r.batch_id = p.batch_id AND r.object_key = p.object_key
		                   ORDER BY revision DESC LIMIT 1) r ON true
		LEFT JOIN LATERAL (SELECT array_agg(ci.code || ' ' || ci.name ORDER BY bi.position) AS names,
		                          string_agg(DISTINCT ci.authority, '；') AS authorities
		                   FROM batch_objects bo
		                   JOIN batch_items bi ON bi.batch_id = bo.batch_id AND bi.item_code = ANY (bo.item_codes)
		                   JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
		                   WHERE bo.batch_id = p.batch_id AND bo.object_key = p.object_key) it ON true
		WHERE (p.batch_id, p.object_key) > ($1, $2) AND ($3 = '' OR p.batch_id = $3) AND ($4 = '' OR t.county_code = $4)
		  AND ($5 = '' OR o.name ILIKE $5 OR p.object_key ILIKE $5)
		ORDER BY p.batch_id, p.object_key LIMIT $6`,
		afterBatch, afterKey, q.Get("batch"), q.Get("county"), like, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	defer rows.Close()
	page := Page[PublicResult]{Items: []PublicResult{}}
	for rows.Next() {
		var r PublicResult
		var items pq.StringArray
		if err := rows.Scan(&r.BatchID, &r.ObjectKey, &r.ObjectName, &r.County, &r.CountyName, &items, &r.ResultCode,
			&r.InspectedOn, &r.PublishedOn, &r.Authority); err != nil {
			h.s.fail(c, err)
			return
		}
		r.Items, r.Result = []string(items), resultTerms[r.ResultCode]
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		h.s.fail(c, err)
		return
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(last.BatchID + "/" + last.ObjectKey)
	}
	header := []string{"批次", "对象标识", "对象名称", "县（市、区）", "检查事项", "检查结果", "结果代码", "检查日期", "公示日期", "检查主体"}
	respondPublic(c, q.Get("format"), "results", page, header, rowsOf(page.Items, func(r PublicResult) []string {
		return []string{r.BatchID, r.ObjectKey, r.ObjectName, r.CountyName, strings.Join(r.Items, "；"), r.Result, r.ResultCode,
			r.InspectedOn, r.PublishedOn, r.Authority}
	}))
}

func checkFormat(f string) error {
	if f != "" && f != "json" && f != "csv" {
		return fault.Field("format", "%q is not a format: json or csv", f)
	}
	return nil
}

func rowsOf[T any](items []T, row func(T) []string) [][]string {
	out := make([][]string, len(items))
	for i, it := range items {
		out[i] = row(it)
	}
	return out
}

// respondPublic writes a public answer as JSON or CSV (UTF-8 with a byte
// order mark, which Excel needs to read Chinese; the next page's cursor in
// the Link header), with an ETag of its bytes: an unchanged answer is a
// 304. Caches may keep it a minute.
func respondPublic[T any](c *gin.Context, format, name string, page Page[T], header []string, rows [][]string) {
	var body bytes.Buffer
	ct := "application/json; charset=utf-8"
	if format == "csv" {
		ct = "text/csv; charset=utf-8"
		body.WriteString("\ufeff")
		w := csv.NewWriter(&body)
		w.Write(header)
		w.WriteAll(rows)
		if page.NextCursor != "" {
			q := c.Request.URL.Query()
			q.Set("cursor", page.NextCursor)
			c.Header("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, c.Request.URL.Path, q.Encode()))
		}
		c.Header("Content-Disposition", attachment(name+".csv", name+".csv"))
	} else {
		// Pages of plain values: encoding cannot fail.
		_ = json.NewEncoder(&body).Encode(page)
	}
	sum := sha256.Sum256(body.Bytes())
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Header("Cache-Control", "public, max-age=60")
	c.Header("ETag", tag)
	if notModified(c, tag) {
		return
	}
	c.Data(http.StatusOK, ct, body.Bytes())
}
