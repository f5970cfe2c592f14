package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Console is the 工作台 at /console: the pages of signed-in people. It
// decides nothing itself: every read and every action is a call of the
// API's own handler, in process, with the session's token as the bearer
// token and Accept-Language: zh-CN, so that the same handlers, services
// and scope rules answer a page and an API caller alike, and a refused
// action reads the same in both. What the console adds is the session
// (cookie, timeouts, sign-in and sign-out), CSRF tokens and the pages.
type Console struct {
	sessions *auth.Sessions
	log      *zap.Logger
	pages    *pages
	api      http.Handler
	oidc     *OIDC
	now      func() time.Time
}

// NewConsole returns the console over sessions.
func NewConsole(sessions *auth.Sessions, log *zap.Logger) *Console {
	return &Console{sessions: sessions, log: log, pages: mustParse(), now: time.Now}
}

// WithClock returns the console with now as its clock (the dates shown;
// deadlines are the API's).
func (k *Console) WithClock(now func() time.Time) *Console {
	c := *k
	c.now = now
	return &c
}

// WithOIDC returns the console offering single sign-on through o.
func (k *Console) WithOIDC(o *OIDC) *Console {
	c := *k
	c.oidc = o
	return &c
}

const (
	sessionCookie = "spotcheck_session"
	// signinCookie carries the sign-in form's CSRF token before there is a
	// session (double submit), and the OIDC state and PKCE verifier.
	signinCookie = "spotcheck_signin"
	// The path all console cookies are limited to.
	cookiePath = "/console"
)

// Mount registers the console's pages on r (the /console group); api is
// the handler of the whole server, which the pages call.
func (k *Console) Mount(r *gin.RouterGroup, api http.Handler) {
	k.api = api
	r.Use(noStore())
	r.GET("/signin", k.signinForm)
	r.POST("/signin", k.signin)
	r.GET("/sso", k.ssoStart)
	r.GET("/sso/callback", k.ssoCallback)
	r.GET("/static/*file", k.static)
	s := r.Group("", k.session(), k.csrf())
	s.POST("/signout", k.signout)
	s.GET("/", k.home)
	s.GET("/dashboard.json", k.dashboardJSON)
	s.GET("/batches/new", k.newBatchForm)
	s.POST("/batches/new", k.newBatch)
	s.GET("/batches/:id", k.batch)
	s.POST("/batches/:id/beacon", k.beacon)
	s.POST("/batches/:id/tasks/:key/extend", k.extend)
	s.GET("/plans", k.plans)
	s.POST("/plans", k.createPlan)
	s.GET("/plans/:id", k.plan)
	s.POST("/plans/:id/:action", k.planAction)
	s.GET("/calendar", k.calendar)
	s.POST("/calendar", k.putCalendar)
	s.GET("/contacts", k.contacts)
	s.POST("/contacts", k.createContact)
	s.POST("/contacts/:id/delete", k.deleteContact)
	s.GET("/items", k.items)
	s.GET("/library", k.library)
	s.POST("/library/import", k.importLibrary)
	s.GET("/statistics", k.statistics)
	s.GET("/download/*path", k.download)
	s.GET("/users", k.users)
	s.POST("/users", k.createUser)
	k.mountWork(s)
}

// noStore keeps the console's pages out of every cache: they are one
// person's view.
func noStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

type ctxKey int

const (
	keySession ctxKey = iota
	keyToken
)

// session lets only signed-in requests through: with the session and its
// token in the gin context; others are sent to the sign-in page (a GET)
// or refused (anything else).
func (k *Console) session() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, _ := c.Cookie(sessionCookie)
		sess, err := k.sessions.Lookup(c.Request.Context(), token)
		if err != nil {
			if fault.KindOf(err) != fault.Unauthorized {
				k.fail(c, err)
				c.Abort()
				return
			}
			if token != "" {
				k.clearCookie(c, sessionCookie)
			}
			if c.Request.Method == http.MethodGet && !strings.HasSuffix(c.Request.URL.Path, ".json") {
				to := "/console/signin"
				if c.Request.URL.Path != "/console/" {
					to += "?next=" + url.QueryEscape(c.Request.URL.RequestURI())
				}
				c.Redirect(http.StatusSeeOther, to)
				c.Abort()
				return
			}
			k.page(c, http.StatusUnauthorized, "error", "未登录", nil, errorPage{Status: http.StatusUnauthorized, Message: "登录已失效，请重新登录。"})
			c.Abort()
			return
		}
		c.Set("console.session", sess)
		c.Set("console.token", token)
		c.Next()
	}
}

// csrf refuses a state-changing request whose form does not carry the
// session's CSRF token (synchroniser token pattern). SameSite=Lax already
// keeps the cookie off cross-site POSTs; the token also stops same-site
// forgeries and old browsers.
func (k *Console) csrf() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Next()
			return
		}
		sess := sessionOf(c)
		got := c.Request.Header.Get("X-CSRF-Token")
		if got == "" {
			// Multipart forms (imports) are parsed with a bound.
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUpload)
			got = c.PostForm("csrf")
		}
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			k.page(c, http.StatusForbidden, "error", "请求被拒绝", nil, errorPage{Status: http.StatusForbidden,
				Message: "表单已失效或不是从本系统页面提交的（缺少或不符的防伪令牌）。请回到上一页刷新后重新提交。"})
			c.Abort()
			return
		}
		c.Next()
	}
}

// maxUpload bounds a form and its file: the API's own import limit is
// checked again by the API.
const maxUpload = 64 << 20

func sessionOf(c *gin.Context) auth.Session {
	s, _ := c.Get("console.session")
	sess, _ := s.(auth.Session)
	return sess
}

func (k *Console) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
}

func (k *Console) clearCookie(c *gin.Context, name string) { k.setCookie(c, name, "", -1) }

// apiError is a problem the API answered, in Chinese.
type apiError struct {
	Status int             `json:"status"`
	Title  string          `json:"title"`
	Detail string          `json:"detail"`
	Errors []fieldProblem  `json:"errors"`
	Raw    json.RawMessage `json:"details"`
}

type fieldProblem struct {
	Field   string `json:"field"`
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail) }

// call sends one request to the API's handler as the session's holder
// and decodes a 2xx answer into out (when not nil). A problem comes back
// as *apiError; anything else is the server's failure.
func (k *Console) call(c *gin.Context, method, path string, body any, out any, hdr ...string) error {
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case multipartBody:
		r, ct = b.r, b.contentType
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("console call %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(raw)
	}
	rec, err := k.do(c, method, path, r, ct, hdr...)
	if err != nil {
		return err
	}
	if rec.Code >= 300 {
		return problemOf(rec, method, path)
	}
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return fmt.Errorf("console call %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func (k *Console) do(c *gin.Context, method, path string, body io.Reader, contentType string, hdr ...string) (*httptest.ResponseRecorder, error) {
	req, err := http.NewRequestWithContext(c.Request.Context(), method, path, body)
	if err != nil {
		return nil, fmt.Errorf("console call %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.GetString("console.token"))
	req.Header.Set("Accept-Language", "zh-CN")
	req.Header.Set("Content-Type", contentType)
	if id := c.Writer.Header().Get("X-Request-ID"); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.RemoteAddr = c.Request.RemoteAddr
	rec := httptest.NewRecorder()
	k.api.ServeHTTP(rec, req)
	return rec, nil
}

func problemOf(rec *httptest.ResponseRecorder, method, path string) error {
	e := &apiError{Status: rec.Code}
	if err := json.Unmarshal(rec.Body.Bytes(), e); err != nil || e.Detail == "" {
		e.Detail = strings.TrimSpace(rec.Body.String())
	}
	if rec.Code >= 500 {
		return fmt.Errorf("console call %s %s: %w", method, path, e)
	}
	return e
}

type multipartBody struct {
	r           io.Reader
	contentType string
}

// consoleView is what the console's layout renders.
type consoleView struct {
	Title     string
	Crumbs    []Crumb
	Authority string
	User      auth.User
	RoleName  string
	CSRF      string
	Nav       string // the section the page belongs to
	Flash     string
	Body      any
}

// page writes one of the console's pages.
func (k *Console) page(c *gin.Context, status int, name, title string, crumbs []Crumb, body any) {
	sess := sessionOf(c)
	v := consoleView{Title: title, Crumbs: append([]Crumb{{Name: "工作台", Href: "/console/"}}, crumbs...), Authority: disclosure.Authority,
		User: sess.User, RoleName: sess.User.Role.Chinese(), CSRF: sess.CSRF, Nav: name, Flash: c.Query("done"), Body: body}
	if name == "dashboard" {
		v.Crumbs = []Crumb{{Name: "工作台"}}
	}
	var buf bytes.Buffer
	t := k.pages.byName["console/"+name]
	if t == nil {
		k.log.Error("no console page " + name)
		c.String(http.StatusInternalServerError, "页面生成失败")
		return
	}
	if err := t.Execute(&buf, v); err != nil {
		k.log.Error("render console page", zap.String("page", name), zap.Error(err))
		c.String(http.StatusInternalServerError, "页面生成失败")
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

var consoleTitles = map[int]string{
	http.StatusBadRequest: "请求有误", http.StatusUnauthorized: "未登录", http.StatusForbidden: "无权访问",
	http.StatusNotFound: "未找到", http.StatusConflict: "当前状态不允许", http.StatusRequestEntityTooLarge: "文件过大",
	http.StatusPreconditionFailed: "内容已被他人修改", http.StatusPreconditionRequired: "需要版本号",
	http.StatusUnprocessableEntity: "请求有误", http.StatusInternalServerError: "系统故障",
}

// fail answers err as a page: the API's refusal with its (Chinese)
// message and field problems, anything else as a 500 that says nothing of
// the cause.
func (k *Console) fail(c *gin.Context, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < 500 {
		k.page(c, ae.Status, "error", consoleTitles[ae.Status], nil, errorPage{Status: ae.Status, Message: ae.Detail, Problems: ae.Errors})
		return
	}
	if fe, ok := fault.As(err); ok {
		status := statusOf[fe.Kind]
		if status == 0 {
			status = http.StatusBadRequest
		}
		k.page(c, status, "error", consoleTitles[status], nil, errorPage{Status: status, Message: fe.Msg})
		return
	}
	if !errors.Is(err, context.Canceled) {
		k.log.Error("console page failed", zap.String("path", c.Request.URL.Path), zap.Error(err))
	}
	k.page(c, http.StatusInternalServerError, "error", consoleTitles[500], nil, errorPage{Status: 500, Message: "系统暂时无法处理本次请求，请稍后再试；如反复出现，请把页面地址和时间告知系统管理员。"})
}

// refusal returns the API's problem in err for showing beside a form, or
// nil when err is not one (then the page fails).
func refusal(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < 500 {
		return ae
	}
	return nil
}

// done redirects after a successful action (post/redirect/get), with a
// line saying what was done.
func done(c *gin.Context, to, what string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	c.Redirect(http.StatusSeeOther, to+sep+"done="+url.QueryEscape(what))
}

// static serves the console's assets (the portal's, under /console so
// that the cookie path needs nothing else).
func (k *Console) static(c *gin.Context) {
	(&Portal{pages: k.pages, log: k.log}).static(c)
}
