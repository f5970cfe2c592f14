package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// A Crumb is one step of a page's breadcrumbs.
type Crumb struct {
	Name, Href string
}

// view is what the layout renders: the page's title, its breadcrumbs (the
// home page first, the page itself last, without a link) and its body.
type view struct {
	Title     string
	Crumbs    []Crumb
	Authority string
	Body      any
}

type pages struct {
	byName map[string]*template.Template
	assets map[string]asset // by file name under static/
}

type asset struct {
	data []byte
	tag  string
}

var planStates = map[string]string{"draft": "草稿", "submitted": "已提交待审", "approved": "已审核", "published": "已公布"}

// chineseDate writes a time or an ISO date as 2026年12月3日 (China time).
func chineseDate(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		t = t.In(disclosure.China)
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	case *time.Time:
		if t == nil {
			return ""
		}
		return chineseDate(*t)
	case fmt.Stringer:
		return chineseDate(t.String())
	case string:
		// The common case, an ISO date, without parsing a time.
		if len(t) == 10 && t[4] == '-' && t[7] == '-' {
			if y, m, d, ok := isoDate(t); ok {
				return strconv.Itoa(y) + "年" + strconv.Itoa(m) + "月" + strconv.Itoa(d) + "日"
			}
		}
		d, err := time.ParseInLocation("2006-01-02", t, disclosure.China)
		if err != nil {
			if d, err = time.Parse(time.RFC3339, t); err != nil {
				// PostgreSQL's text of a timestamptz (the ledger's detected_at).
				if d, err = time.Parse("2006-01-02 15:04:05.999999999-07", t); err != nil {
					return t
				}
			}
		}
		return chineseDate(d)
	}
	return fmt.Sprint(v)
}

func isoDate(s string) (y, m, d int, ok bool) {
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:])
	return y, m, d, err1 == nil && err2 == nil && err3 == nil && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// chineseTime writes a time as 2026年12月3日 09:30:05 (China time).
func chineseTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		return chineseDate(v)
	}
	if t.IsZero() {
		return ""
	}
	return chineseDate(t) + " " + t.In(disclosure.China).Format("15:04:05")
}

func mustParse() *pages {
	p := &pages{byName: map[string]*template.Template{}, assets: map[string]asset{}}
	err := fs.WalkDir(staticFiles, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFiles.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		p.assets[strings.TrimPrefix(name, "static/")] = asset{data: data, tag: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"date": chineseDate,
		"time": chineseTime,
		// asset is a static file's address, with its hash so that a new
		// build's file is never taken from a cache.
		"asset": func(name string) (string, error) {
			a, ok := p.assets[name]
			if !ok {
				return "", fmt.Errorf("no asset %s", name)
			}
			return "/static/" + name + "?v=" + a.tag, nil
		},
		// methods and kind write the vocabularies' Chinese terms.
		"methods": func(codes []string) string {
			zh := make([]string, len(codes))
			for i, c := range codes {
				zh[i] = library.Methods.Chinese(c)
			}
			return strings.Join(zh, "、")
		},
		"kind":       library.ObjectKinds.Chinese,
		"pathEscape": url.PathEscape,
		"join":       strings.Join,
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		// casset is asset under /console, where the console's cookie path is.
		"casset": func(name string) (string, error) {
			a, ok := p.assets[name]
			if !ok {
				return "", fmt.Errorf("no asset %s", name)
			}
			return "/console/static/" + name + "?v=" + a.tag, nil
		},
		"stage":   func(s any) string { return inspection.StageNames[inspection.Stage(fmt.Sprint(s))] },
		"duty":    func(s string) string { return inspection.DutyNames[s] },
		"bstate":  func(s any) string { return disclosure.Stages[batch.State(fmt.Sprint(s))] },
		"pstate":  func(s any) string { return planStates[fmt.Sprint(s)] },
		"role":    func(s any) string { return auth.Role(fmt.Sprint(s)).Chinese() },
		"total":   sum,
		"stratum": stratumName,
		"pct": func(v *float64) string {
			if v == nil {
				return "—"
			}
			return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
		},
		"has": func(m map[string]bool, k string) bool { return m[k] },
		// The work pages' vocabularies (console_work.go).
		"daysLeft": daysLeft,
		"noteKind": noteKind,
		"result":   inspection.ResultChinese,
		"action":   inspection.ActionChinese,
		"method":   library.Methods.Chinese,
		"recusal":  func(r string) string { return recusalNames[r] },
		"field":    fieldName,
		"stages":   func() []inspection.Stage { return inspection.Stages },
		// dict passes several values to a template: name, value, ...
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		p.byName[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", name))
	}
	// The console's pages have a layout of their own and shared fragments
	// (forms of draw rules).
	names, err = fs.Glob(templateFiles, "templates/console/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		p.byName["console/"+base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles,
			"templates/console/layout.html", "templates/console/_*.html", name))
	}
	return p
}

// render writes page name with the layout: an ETag of its bytes (a 304
// when the client has them) and a minute in caches, like /public.
func (p *Portal) render(c *gin.Context, status int, name, title string, crumbs []Crumb, body any) {
	var buf bytes.Buffer
	v := view{Title: title, Crumbs: append([]Crumb{{Name: "首页", Href: "/"}}, crumbs...), Authority: disclosure.Authority, Body: body}
	if name == "home" {
		v.Crumbs = []Crumb{{Name: "首页"}}
	}
	if err := p.pages.byName[name].Execute(&buf, v); err != nil {
		p.log.Error("render page: " + err.Error())
		c.String(http.StatusInternalServerError, "页面生成失败")
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	if status == http.StatusOK {
		sum := sha256.Sum256(buf.Bytes())
		tag := `"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", tag)
		h.Set("Cache-Control", "public, max-age=60")
		if matches(c.GetHeader("If-None-Match"), tag) {
			c.Status(http.StatusNotModified)
			return
		}
	} else {
		h.Set("Cache-Control", "no-store")
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

func matches(ifNoneMatch, tag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		if t = strings.TrimSpace(t); t == tag || t == "W/"+tag || t == "*" {
			return true
		}
	}
	return false
}

// static serves an embedded asset; with the hash of its contents in the
// address it never changes, so caches keep it for good.
func (p *Portal) static(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	a, ok := p.pages.assets[name]
	if !ok {
		p.render(c, http.StatusNotFound, "error", titleOf[http.StatusNotFound], nil, errorPage{Status: 404, Message: "没有这个文件。"})
		return
	}
	tag := `"` + a.tag + `"`
	h := c.Writer.Header()
	h.Set("ETag", tag)
	if c.Query("v") == a.tag {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if matches(c.GetHeader("If-None-Match"), tag) {
		c.Status(http.StatusNotModified)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Data(http.StatusOK, ct, a.data)
}
