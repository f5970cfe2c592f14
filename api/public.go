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

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// publicRoutes registers the public disclosure (一公开) reads: the item list
// with its history, batches with their drawn lists, published results. No
// token; JSON, or CSV with ?format=csv; cacheable (ETag, Cache-Control); the
// whole /public group is rate-limited per client IP (see NewHandler). The
// reads are internal/disclosure's, which the public portal (web/) shares.
func (s *Server) publicRoutes(pub *gin.RouterGroup) {
	h := &publicAPI{s: s, store: s.d.Services.Disclosure}
	pub.GET("/check-items", h.checkItems)
	pub.GET("/check-items/:code/versions", h.checkItemVersions)
	pub.GET("/batches", h.batches)
	pub.GET("/batches/:id", h.batch)
	pub.GET("/batches/:id/drawn", h.drawn)
	pub.GET("/results", h.results)
	pub.GET("/audit/heads", h.auditHeads)
}

// auditHeads answers GET /public/audit/heads: every head of the audit
// chain published so far (daily and at each archive), oldest first, as
// JSON or CSV. Keep a copy: `spotcheck audit verify --heads` checks a
// database against it, which catches a chain rewritten by whoever can
// write the tables.
func (h *publicAPI) auditHeads(c *gin.Context) {
	q, err := checkQuery(c, "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	heads, err := h.s.d.Services.Audit.Heads(c.Request.Context())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[audit.Head]{Items: heads}
	respondPublic(c, q.Get("format"), "audit-heads", page, audit.HeadsHeader, rowsOf(heads, audit.Head.Row))
}

type publicAPI struct {
	s     *Server
	store *disclosure.Store
}

// PublicItem is a published version of a check item as the public sees it.
type PublicItem = disclosure.Item

// PublicResult is a published inspection result (抽查结果公示).
type PublicResult = disclosure.Result

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
	items, next, err := h.store.Items(c.Request.Context(), cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[PublicItem]{Items: items, NextCursor: encodeCursor(next)}
	respondPublic(c, q.Get("format"), "check-items", page, disclosure.ItemHeader, rowsOf(page.Items, PublicItem.Row))
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
	items, err := h.store.ItemVersions(c.Request.Context(), code)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[PublicItem]{Items: items}
	respondPublic(c, q.Get("format"), "check-item-"+code, page, disclosure.ItemHeader, rowsOf(page.Items, PublicItem.Row))
}

// batches answers GET /public/batches: the latest batches, newest first,
// with their stage.
func (h *publicAPI) batches(c *gin.Context) {
	_, cursor, limit, err := listQuery(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.store.Batches(c.Request.Context(), cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	respondPublic(c, "", "batches", Page[disclosure.Batch]{Items: list, NextCursor: encodeCursor(next)}, nil, nil)
}

// batch answers GET /public/batches/{id}: the batch at its stage, each
// step of its draw with its time.
func (h *publicAPI) batch(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	b, err := h.store.Batch(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	// A plain value: encoding cannot fail.
	body, _ := json.Marshal(b)
	sendTagged(c, "application/json; charset=utf-8", append(body, '\n'))
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
	items, next, err := h.store.Drawn(c.Request.Context(), c.Param("id"), q.Get("county"), cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[batch.DrawnObject]{Items: items, NextCursor: encodeCursor(next)}
	// Each code has its name beside it.
	header := []string{"序号", "对象标识", "对象名称", "分层", "检查事项", "检查事项名称", "所属区域", "所属区域名称", "承办县（市、区）", "承办县（市、区）名称"}
	respondPublic(c, q.Get("format"), "drawn-"+c.Param("id"), page, header, rowsOf(items, func(d batch.DrawnObject) []string {
		return []string{fmt.Sprint(d.Position), d.ObjectKey, d.Name, d.Stratum, strings.Join(d.ItemCodes, "；"), strings.Join(d.ItemNames, "；"),
			d.RegionCode, d.RegionName, d.CountyCode, d.CountyName}
	}))
}

// results answers GET /public/results?batch=&county=&q=&year=&department=
// &item=&result=: published results, by batch and object key.
func (h *publicAPI) results(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "batch", "county", "q", "year", "department", "item", "result", "format")
	if err == nil {
		err = checkFormat(q.Get("format"))
	}
	year := 0
	if err == nil && q.Get("year") != "" {
		year, err = planYear(q.Get("year"), true)
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	rq := disclosure.ResultQuery{Batch: q.Get("batch"), County: q.Get("county"), Text: q.Get("q"), Year: year,
		Department: q.Get("department"), Item: q.Get("item"), Result: q.Get("result"), Limit: limit}
	rq.AfterBatch, rq.AfterKey, _ = strings.Cut(cursor, "/")
	results, more, err := h.store.Results(c.Request.Context(), rq)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[PublicResult]{Items: results}
	if more {
		last := results[len(results)-1]
		page.NextCursor = encodeCursor(last.BatchID + "/" + last.ObjectKey)
	}
	if f := q.Get("format"); f == "" || f == "json" {
		sendTagged(c, "application/json; charset=utf-8", appendResultsPage(make([]byte, 0, 512*len(page.Items)+64), page))
		return
	}
	respondPublic(c, q.Get("format"), "results", page, disclosure.ResultHeader, rowsOf(page.Items, PublicResult.Row))
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
	sendTagged(c, ct, body.Bytes())
}

// sendTagged writes body with an ETag of its bytes, or a 304 if the client
// holds it. Caches may keep it a minute.
func sendTagged(c *gin.Context, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Header("Cache-Control", "public, max-age=60")
	c.Header("ETag", tag)
	if notModified(c, tag) {
		return
	}
	c.Data(http.StatusOK, contentType, body)
}
