package web_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/browsertest"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/web"
)

const consolePassword = "Jiaxing-console-2026"

// consoleSystem is the portal's fixture with the console mounted, a
// coordinator and an administrator.
func consoleSystem(t *testing.T, with ...func(*web.Console) *web.Console) *system {
	t.Helper()
	s := newSystem(t)
	ctx := context.Background()
	for _, u := range []auth.NewUser{
		{Username: "zhang", DisplayName: "张统筹", Role: auth.Coordinator, Password: consolePassword},
		{Username: "admin", DisplayName: "李管理", Role: auth.Admin, Password: consolePassword},
		{Username: "locked", Role: auth.Coordinator, Password: consolePassword},
	} {
		if _, err := auth.CreateUser(ctx, s.db, "test", u); err != nil {
			t.Fatal(err)
		}
	}
	// The fixture's batches belong to 2026 and 2027 has no working-day
	// schedule, whatever day the test runs.
	s.db.MustExec(`UPDATE batches SET committed_at = '2026-11-02 09:00+08', created_at = '2026-11-02 09:00+08'`)
	s.db.MustExec(`DELETE FROM calendar_years WHERE year = 2027`)
	sessions := auth.NewSessions(s.db, auth.DefaultSessionPolicy)
	clock := func() time.Time { return today }
	console := web.NewConsole(sessions, zap.NewNop()).WithClock(clock)
	for _, w := range with {
		console = w(console)
	}
	h := apicontract.Wrap(t, api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(s.db, clock), Registry: prometheus.NewRegistry(),
		Auth:    auth.NewAuthenticator(s.db, nil).WithSessions(sessions),
		Pages:   web.New(disclosure.New(s.db), zap.NewNop()).WithClock(clock),
		Console: console}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url, s.handler = srv.URL, h
	return s
}

// client is a person using the console with a plain HTTP client: cookies
// kept, redirects not followed (so that they can be checked).
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in through the form and returns the status and page.
func (c *client) signIn(user, password string) (int, string) {
	c.t.Helper()
	_, page, _ := c.do("GET", "/console/signin", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("sign-in form without a CSRF token: %s", page)
	}
	code, page, hdr := c.do("POST", "/console/signin", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}, "next": {"/console/"}})
	if code == http.StatusSeeOther {
		if hdr.Get("Location") != "/console/" {
			c.t.Errorf("after sign-in to %s", hdr.Get("Location"))
		}
		// The session cookie: script cannot read it, other sites' POSTs
		// do not carry it, it lives no longer than the session may.
		var cookie string
		for _, v := range hdr.Values("Set-Cookie") {
			if strings.HasPrefix(v, "spotcheck_session=") {
				cookie = v
			}
		}
		for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=43200"} {
			if !strings.Contains(cookie, want) {
				c.t.Errorf("session cookie %q lacks %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			c.t.Errorf("session cookie %q is Secure on plain HTTP (tests run without TLS)", cookie)
		}
	}
	return code, page
}

// TestConsoleSessions: sign-in and its refusals, CSRF, lockout, sign-out
// and the admin-only pages, over HTTP as a browser would send them.
func TestConsoleSessions(t *testing.T) {
	s := consoleSystem(t)
	anon := newClient(t, s.url)
	if code, _, hdr := anon.do("GET", "/console/contacts", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/console/signin?next=%2Fconsole%2Fcontacts" {
		t.Errorf("signed out: %d to %q", code, hdr.Get("Location"))
	}
	// The sign-in form itself needs its token.
	if code, page, _ := anon.do("POST", "/console/signin", url.Values{"username": {"zhang"}, "password": {consolePassword}}); code != http.StatusForbidden || !strings.Contains(page, "防伪令牌") {
		t.Errorf("sign-in without a token: %d", code)
	}

	// Under TLS the console's cookies are Secure.
	tlsReq, _ := http.NewRequest("GET", s.url+"/console/signin", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, tlsReq)
	if sc := rec.Header().Get("Set-Cookie"); !strings.Contains(sc, "; Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("cookie under TLS: %q", sc)
	}

	c := newClient(t, s.url)
	if code, page := c.signIn("zhang", consolePassword); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", code, page)
	}
	u, _ := url.Parse(s.url + "/console/")
	var cookie *http.Cookie
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == "spotcheck_session" {
			cookie = k
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	_, page, hdr := c.do("GET", "/console/", nil)
	if !strings.Contains(page, "张统筹（zhang） · 市局统筹") || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("dashboard of the coordinator: %.400s", page)
	}
	// A form posted without the session's CSRF token is refused, and
	// nothing is written.
	code, page, _ := c.do("POST", "/console/contacts", url.Values{"region_code": {"330402"}, "role": {"county_officer"}, "name": {"伪造"}, "channel": {"log"}})
	if code != http.StatusForbidden || !strings.Contains(page, "防伪令牌") {
		t.Errorf("POST without CSRF: %d", code)
	}
	code, page, _ = c.do("POST", "/console/contacts", url.Values{"csrf": {"wrong-token-wrong-token-wrong-token"}, "region_code": {"330402"}, "role": {"county_officer"}, "name": {"伪造"}, "channel": {"log"}})
	if code != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d", code)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM contacts WHERE name = '伪造'`); err != nil || n != 0 {
		t.Errorf("a forged contact was written: %d %v", n, err)
	}
	// With it, the same form works.
	_, page, _ = c.do("GET", "/console/contacts", nil)
	token := csrfField.FindStringSubmatch(page)[1]
	if code, _, hdr := c.do("POST", "/console/contacts", url.Values{"csrf": {token}, "region_code": {"330402"}, "role": {"county_officer"}, "name": {"王科长"}, "channel": {"log"}, "delivery": {"immediate"}}); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/console/contacts?done=") {
		t.Errorf("add contact: %d %s", code, hdr.Get("Location"))
	}

	// A plan through its states from the plan's page; an action its state
	// does not allow is refused by the plan service, in Chinese.
	act := func(action string) (int, string, http.Header) {
		_, page, _ := c.do("GET", "/console/plans/XZ-2026", nil)
		return c.do("POST", "/console/plans/XZ-2026/"+action, url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "idem": {action}})
	}
	for _, a := range []string{"submit", "approve"} {
		if code, page, hdr := act(a); code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s %.500s", a, code, hdr.Get("Location"), page)
		}
	}
	if _, page, _ := c.do("GET", "/console/plans/XZ-2026", nil); !strings.Contains(page, "已审核") {
		t.Errorf("plan after approve: %.300s", page)
	}
	if code, page, _ := act("submit"); code != http.StatusConflict || !strings.Contains(page, "计划 XZ-2026 处于") {
		t.Errorf("submitting an approved plan: %d %.800s", code, page)
	}

	// Entering next year's schedule ends the calendar banner.
	_, page, _ = c.do("GET", "/console/calendar", nil)
	if !strings.Contains(page, "工作日历缺少 2027 年") {
		t.Error("no banner for 2027")
	}
	code, page, _ = c.do("POST", "/console/calendar", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "year": {"2027"},
		"source": {"国办发明电〔2026〕测试"}, "holidays": {"2027-01-01 2027-13-02"}, "makeup": {""}})
	if code != http.StatusBadRequest || !strings.Contains(page, "2027-13-02") || !strings.Contains(page, "需要修改的内容") {
		t.Errorf("a wrong date: %d %.600s", code, page)
	}
	if code, _, _ = c.do("POST", "/console/calendar", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "year": {"2027"},
		"source": {"国办发明电〔2026〕测试"}, "holidays": {"2027-01-01, 2027-02-16"}, "makeup": {"2027-02-20"}}); code != http.StatusSeeOther {
		t.Errorf("enter 2027: %d", code)
	}
	if _, page, _ = c.do("GET", "/console/calendar", nil); strings.Contains(page, "工作日历缺少 2027 年") {
		t.Error("the banner stays after 2027 was entered")
	}

	// A coordinator cannot reach the administrator's pages: the API says no.
	if code, page, _ := c.do("GET", "/console/users", nil); code != http.StatusForbidden || !strings.Contains(page, "无权访问") {
		t.Errorf("coordinator on /console/users: %d %.300s", code, page)
	}
	admin := newClient(t, s.url)
	admin.signIn("admin", consolePassword)
	code, page, _ = admin.do("GET", "/console/users", nil)
	if code != http.StatusOK || !strings.Contains(page, "zhang") || !strings.Contains(page, "用户管理") {
		t.Errorf("admin on /console/users: %d", code)
	}
	token = csrfField.FindStringSubmatch(page)[1]
	code, page, _ = admin.do("POST", "/console/users", url.Values{"csrf": {token}, "username": {"wang"}, "role": {"county_officer"}, "county": {"南湖区"}, "password": {"short"}})
	if code != http.StatusBadRequest || !strings.Contains(page, "12") {
		t.Errorf("weak password: %d %.500s", code, page)
	}
	if code, _, _ := admin.do("POST", "/console/users", url.Values{"csrf": {token}, "username": {"wang"}, "role": {"county_officer"}, "county": {"南湖区"}, "password": {"Nanhu-officer-2026"}}); code != http.StatusSeeOther {
		t.Errorf("create user: %d", code)
	}
	if code, _ := newClient(t, s.url).signIn("wang", "Nanhu-officer-2026"); code != http.StatusSeeOther {
		t.Errorf("the admin's new user cannot sign in: %d", code)
	}

	// Five wrong passwords lock the account; then the right one is refused.
	l := newClient(t, s.url)
	for range auth.MaxFailedSignIns {
		if code, page := l.signIn("locked", "not-the-password-1"); code != http.StatusUnauthorized || !strings.Contains(page, "用户名或密码不正确") {
			t.Fatalf("wrong password: %d", code)
		}
	}
	if code, page := l.signIn("locked", consolePassword); code != http.StatusUnauthorized || !strings.Contains(page, "已被锁定") {
		t.Errorf("locked account: %d %.300s", code, page)
	}

	// Sign-out ends the session on the server: the old cookie opens nothing.
	_, page, _ = c.do("GET", "/console/", nil)
	token = csrfField.FindStringSubmatch(page)[1]
	if code, _, hdr := c.do("POST", "/console/signout", url.Values{"csrf": {token}}); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/console/signin") {
		t.Errorf("sign out: %d %s", code, hdr.Get("Location"))
	}
	replay := newClient(t, s.url)
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/console"}})
	if code, _, hdr := replay.do("GET", "/console/", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/console/signin" {
		t.Errorf("the signed-out cookie still opens the console: %d %s", code, hdr.Get("Location"))
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+cookie.Value)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the signed-out session token still authenticates the API: %v %v", resp.StatusCode, err)
	}
}

// TestConsolePages opens every page of the coordinator in Chromium after
// signing in through the form: content, no console error, no serious or
// critical axe-core violation, a screenshot at 1280 px; the draw preview,
// the calendar banner (2027 has no schedule on 2026-12-03) and an import
// whose row errors are listed.
func TestConsolePages(t *testing.T) {
	s := consoleSystem(t)
	b := browsertest.Start(t)
	b.Do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	for _, v := range b.Axe(t) {
		t.Errorf("sign-in page: axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
	}
	browsertest.Shot(t, b, "console-signin-1280.png")
	b.Do(t, chromedp.SendKeys(chromedp.CSS("#username"), "zhang"), chromedp.SendKeys(chromedp.CSS("#password"), consolePassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#h-batches")))
	pages := []struct {
		name, path string
		want       []string
	}{
		{"dashboard", "/console/", []string{"工作台（2026 年度）", "缺少 2027 年的节假日安排", s.batch, s.pending, "各县（市、区）检查对象进度", "南湖区", "问责台账"}},
		{"batch-new", "/console/batches/new", []string{"预览抽取", "创建批次", s.item + " 土地复垦义务履行情况检查", "风险等级"}},
		{"batch", "/console/batches/" + s.batch, []string{"抽取过程", "2026-11-02 见证人甲|见证人乙", "各县（市、区）进度", "检查任务与期限"}},
		{"batch-pending", "/console/batches/" + s.pending, []string{"录入公开随机值", "尚未录入"}},
		{"plans", "/console/plans", []string{"GYC-2026", "已公布", "XZ-2026", "新建计划"}},
		{"plan", "/console/plans/GYC-2026", []string{"批次安排", "第一批", "提交审核", "启动"}},
		{"calendar", "/console/calendar", []string{"工作日历缺少 2027 年的节假日安排", "2026", "录入一年的安排"}},
		{"contacts", "/console/contacts", []string{"添加联系人", "钉钉机器人"}},
		{"items", "/console/items", []string{s.item, "第 3 版", "未公布"}},
		{"library", "/console/library", []string{"检查对象名录", "嘉兴市测试复垦企业01有限公司", "导入检查对象"}},
		{"inspectors", "/console/library?which=inspectors", []string{"执法检查人员名录", "导入执法检查人员"}},
		{"statistics", "/console/statistics", []string{"2026 年度统计", "按县（市、区）", "年度统计（Excel）"}},
		{"refused", "/console/users", []string{"无权访问", "此操作需要角色 admin；您的角色是 coordinator。"}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			b.Do(t, chromedp.Navigate(s.url+p.path), chromedp.WaitReady(chromedp.CSS("footer")))
			text := browsertest.Get(t, b, chromedp.Evaluate[string](`document.body.innerText`))
			for _, w := range p.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s lacks %q", p.path, w)
				}
			}
			for _, v := range b.Axe(t) {
				t.Errorf("axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
			}
			if errs := pageErrors(b, s.url+p.path); len(errs) > 0 {
				t.Errorf("console errors: %v", errs)
			}
			browsertest.Shot(t, b, "console-"+p.name+"-1280.png")
		})
	}

	t.Run("import-row-errors", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "objects.csv")
		csv := "统一社会信用代码/对象编码,名称,对象类型,所属区域,最近检查日期\n" +
			"JX-TEST-0001,嘉兴市测试企业一,enterprise,南湖区,2026-13-40\n" +
			"JX-TEST-0002,嘉兴市测试企业二,enterprise,火星区,2026-01-05\n"
		if err := os.WriteFile(bad, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		b.Do(t, chromedp.Navigate(s.url+"/console/library"), chromedp.WaitReady(chromedp.CSS("footer")),
			chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}), chromedp.Submit(chromedp.CSS("#file")),
			chromedp.WaitVisible(chromedp.CSS("table.problems")))
		text := browsertest.Get(t, b, chromedp.Evaluate[string](`document.querySelector("table.problems").innerText`))
		for _, want := range []string{"需要修改的内容", "第 2 行", "不是日期", "第 3 行", "未知的地区"} {
			if !strings.Contains(text, want) {
				t.Errorf("row errors lack %q: %s", want, text)
			}
		}
		if regexp.MustCompile(`\b(is|not|the|unknown|must)\b`).MatchString(text) {
			t.Errorf("row errors in English: %s", text)
		}
		var n int
		if err := s.db.Get(&n, `SELECT count(*) FROM objects WHERE key LIKE 'JX-TEST-%'`); err != nil || n != 0 {
			t.Errorf("a file with errors was written: %d", n)
		}
		for _, v := range b.Axe(t) {
			t.Errorf("axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
		}
		if errs := pageErrors(b, s.url+"/console/library/import"); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
		browsertest.Shot(t, b, "console-import-errors-1280.png")
	})

	t.Run("draw-preview", func(t *testing.T) {
		b.Do(t, chromedp.Navigate(s.url+"/console/batches/new"), chromedp.WaitReady(chromedp.CSS("footer")),
			chromedp.Click(chromedp.CSS(`input[name="item"]`)), chromedp.Click(chromedp.CSS(`#stratum-risk`)),
			chromedp.Click(chromedp.CSS(`button[value="simulate"]`)), chromedp.WaitVisible(chromedp.CSS("#simulation")))
		text := browsertest.Get(t, b, chromedp.Evaluate[string](`document.getElementById("simulation").innerText`))
		if !strings.Contains(text, "总体 26 个对象，预计抽取 4 个") || !strings.Contains(text, "各层总体与预计抽取数量") || !strings.Contains(text, "ZR-W1 · 南湖区 · 低风险") {
			t.Errorf("simulation: %s", text)
		}
		var n int
		if err := s.db.Get(&n, `SELECT count(*) FROM batches`); err != nil || n != 2 {
			t.Errorf("a preview stored a batch: %d batches", n)
		}
		for _, v := range b.Axe(t) {
			t.Errorf("axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
		}
		browsertest.Shot(t, b, "console-draw-preview-1280.png")
	})

	t.Run("signout-and-admin", func(t *testing.T) {
		b.Do(t, chromedp.Navigate(s.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("button.link")),
			chromedp.Click(chromedp.CSS("button.link")), chromedp.WaitVisible(chromedp.CSS("#username")))
		if text := browsertest.Get(t, b, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(text, "张统筹") {
			t.Error("still signed in after 退出登录")
		}
		b.Do(t, chromedp.Navigate(s.url+"/console/users"), chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), "admin"), chromedp.SendKeys(chromedp.CSS("#password"), consolePassword),
			chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#u-name")))
		text := browsertest.Get(t, b, chromedp.Evaluate[string](`document.body.innerText`))
		for _, w := range []string{"用户管理", "zhang", "张统筹", "新建用户"} {
			if !strings.Contains(text, w) {
				t.Errorf("users page lacks %q", w)
			}
		}
		for _, v := range b.Axe(t) {
			t.Errorf("axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
		}
		if errs := b.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
		browsertest.Shot(t, b, "console-users-1280.png")
	})
}

// pageErrors is what the browser logged as errors, but the status of the
// page itself: a refusal is answered with its 4xx, which Chromium logs.
func pageErrors(b *browsertest.Browser, page string) []string {
	var out []string
	for _, e := range b.ConsoleErrors() {
		if strings.HasPrefix(e, "Failed to load resource: the server responded with a status of 4") && strings.HasSuffix(e, " "+page) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestConsoleRoles: each role's first page, the county officer's scope
// (another county's pages 403, its tasks not found), the record sheet's
// content, the inspector's tasks and the auditor's verified audit trail and
// refused writes, over HTTP on the portal's fixture.
func TestConsoleRoles(t *testing.T) {
	s := consoleSystem(t)
	ctx := context.Background()
	s.db.MustExec(`INSERT INTO inspectors (key, name, region_code, unit, certificate_no) VALUES ('JX-INSPECTOR-SECRET', '钱执法', '330402', '南湖区执法大队', '浙33040201')`)
	for _, u := range []auth.NewUser{
		{Username: "wang", DisplayName: "王科长", Role: auth.CountyOfficer, County: "330402", Password: consolePassword},
		{Username: "qian", DisplayName: "钱执法", Role: auth.Inspector, InspectorKey: "JX-INSPECTOR-SECRET", Password: consolePassword},
		{Username: "shen", DisplayName: "沈审计", Role: auth.Auditor, Password: consolePassword},
	} {
		if _, err := auth.CreateUser(ctx, s.db, "test", u); err != nil {
			t.Fatal(err)
		}
	}
	var own, other string
	for _, d := range s.drawn {
		if d.CountyCode == "330402" && own == "" {
			own = d.ObjectKey
		}
		if d.CountyCode == "330411" && other == "" {
			other = d.ObjectKey
		}
	}
	if own == "" || other == "" {
		t.Fatalf("the fixture draws no object of one county: %v", s.drawn)
	}
	task := "/console/batches/" + s.batch + "/tasks/"

	county := newClient(t, s.url)
	county.signIn("wang", consolePassword)
	if code, _, hdr := county.do("GET", "/console/", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/console/counties/330402" {
		t.Errorf("county officer's first page: %d %s", code, hdr.Get("Location"))
	}
	if code, page, _ := county.do("GET", "/console/counties/330402", nil); code != http.StatusOK || !strings.Contains(page, "南湖区待办") || !strings.Contains(page, "收到的提醒与督办") {
		t.Errorf("the county's 待办: %d %.400s", code, page)
	}
	for _, path := range []string{"/console/counties/330411", "/console/counties/330411/ledger", "/console/batches/" + s.batch + "/counties/330411/match"} {
		if code, page, _ := county.do("GET", path, nil); code != http.StatusForbidden || !strings.Contains(page, "只能") {
			t.Errorf("%s as 南湖区: %d", path, code)
		}
	}
	if code, _, _ := county.do("GET", task+other, nil); code != http.StatusNotFound {
		t.Errorf("another county's task: %d", code)
	}
	_, page, _ := county.do("GET", task+own, nil)
	if code, _, _ := county.do("POST", task+other+"/review", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "decision": {"approve"}}); code != http.StatusNotFound {
		t.Errorf("reviewing another county's task: %d", code)
	}
	code, page, _ := county.do("GET", task+own+"/sheet", nil)
	for _, want := range []string{"检查记录表", "《土地复垦条例》第十七条、第十八条", "复垦费用使用情况", "钱执法（南湖区执法大队，执法证号 浙33040201）", "实地检查", "检查人员签名"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("record sheet (%d) lacks %q", code, want)
		}
	}

	inspector := newClient(t, s.url)
	inspector.signIn("qian", consolePassword)
	if code, _, hdr := inspector.do("GET", "/console/", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/console/tasks" {
		t.Errorf("inspector's first page: %d %s", code, hdr.Get("Location"))
	}
	if code, page, _ := inspector.do("GET", "/console/tasks", nil); code != http.StatusOK || !strings.Contains(page, "我的任务") || !strings.Contains(page, "待办任务") {
		t.Errorf("我的任务: %d %.400s", code, page)
	}

	auditor := newClient(t, s.url)
	auditor.signIn("shen", consolePassword)
	code, page, _ = auditor.do("GET", "/console/audit?verify=1", nil)
	if code != http.StatusOK || !strings.Contains(page, "校验通过") || !strings.Contains(page, "user.create") {
		t.Errorf("audit trail: %d %.600s", code, page)
	}
	if code, _, _ := auditor.do("POST", task+own+"/result", url.Values{"csrf": {csrfField.FindStringSubmatch(page)[1]}, "result_code": {"no_problem"}, "method": {"on_site"}}); code != http.StatusForbidden {
		t.Errorf("an auditor entering a result: %d", code)
	}
}
