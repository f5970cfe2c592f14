// Package web is the public portal (公示门户): the 一公开 pages at / in
// Chinese, rendered on the server with html/template from the same public
// reads as the /public endpoints (internal/disclosure), readable without
// JavaScript, and the in-browser draw verifier (在线验证), the one page that
// needs it. Templates and assets are embedded: the binary serves them.
package web

import (
	"embed"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

//go:embed templates/*.html templates/console/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Portal serves the pages.
type Portal struct {
	store *disclosure.Store
	log   *zap.Logger
	pages *pages
	// now gives "this year" of the home page; tests fix it.
	now func() time.Time
}

// New returns the portal over store.
func New(store *disclosure.Store, log *zap.Logger) *Portal {
	return &Portal{store: store, log: log, pages: mustParse(), now: time.Now}
}

// WithClock returns the portal with now as its clock.
func (p *Portal) WithClock(now func() time.Time) *Portal {
	q := *p
	q.now = now
	return &q
}

// Mount registers the pages on r.
func (p *Portal) Mount(r gin.IRoutes) {
	r.GET("/", p.home)
	r.GET("/items", p.items)
	r.GET("/items/:code", p.item)
	r.GET("/plans", p.plans)
	r.GET("/batches", p.batches)
	r.GET("/batches/:id", p.batch)
	r.GET("/batches/:id/summary", p.summary)
	r.GET("/results", p.results)
	r.GET("/results/export", p.export)
	r.GET("/objects/:key", p.object)
	r.GET("/verify", p.verify)
	r.GET("/static/*file", p.static)
}

// thisYear is the current year in China.
func (p *Portal) thisYear() int { return p.now().In(disclosure.China).Year() }

// query reads the page's parameters: only the named ones, each at most
// once, none longer than 200 bytes.
func query(c *gin.Context, names ...string) (map[string]string, error) {
	q := c.Request.URL.Query()
	out := map[string]string{}
	for name, vs := range q {
		known := false
		for _, n := range names {
			known = known || n == name
		}
		switch {
		case !known:
			return nil, fault.Field(name, "本页没有参数“%s”", name)
		case len(vs) > 1:
			return nil, fault.Field(name, "参数“%s”只能给一次", name)
		case len(vs[0]) > 200:
			return nil, fault.Field(name, "参数“%s”超过 200 字节", name)
		}
		out[name] = strings.TrimSpace(vs[0])
	}
	return out, nil
}

// yearParam reads an optional year.
func yearParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2100 {
		return 0, fault.Field("year", "年度应为 2000 至 2100 之间的年份，例如 2026，而不是“%s”", s)
	}
	return y, nil
}

var statusOf = map[fault.Kind]int{
	fault.Invalid: http.StatusBadRequest, fault.NotFound: http.StatusNotFound, fault.Conflict: http.StatusConflict,
	fault.TooLarge: http.StatusRequestEntityTooLarge,
}

var titleOf = map[int]string{
	http.StatusBadRequest: "请求有误", http.StatusNotFound: "未找到", http.StatusConflict: "暂未公开",
	http.StatusRequestEntityTooLarge: "请求过大", http.StatusInternalServerError: "系统故障",
}

// fail answers err as a page: the caller's faults with their status and
// message, anything else as a 500 that says nothing of the cause.
func (p *Portal) fail(c *gin.Context, err error) {
	status, msg := http.StatusInternalServerError, "系统暂时无法处理本次请求，请稍后再试。"
	var fe *fault.Error
	if errors.As(err, &fe) {
		status, msg = statusOf[fe.Kind], fe.Msg
		if len(fe.Problems) > 0 {
			var parts []string
			for _, pr := range fe.Problems {
				parts = append(parts, pr.Message)
			}
			msg = strings.Join(parts, "；")
		}
		if status == 0 {
			status = http.StatusBadRequest
		}
	} else {
		p.log.Error("page failed", zap.String("path", c.Request.URL.Path), zap.Error(err))
	}
	p.render(c, status, "error", titleOf[status], nil, errorPage{Status: status, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
	// Problems are a refused request's fields or a file's rows (console).
	Problems []fieldProblem
}
