package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/browsertest"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// TestConsoleWholeBatch runs a batch from the draw to the public portal
// through the 工作台's pages only, in Chromium, on the whole system (API,
// worker, PostgreSQL, Temporal): the coordinator previews and starts it and
// gives the beacon; the county officer sees the assignment, previews the
// pool and runs the match; an inspector, on a phone, records an inspection
// and enters its result; another result is left overdue, and its reminder
// and escalation reach the county's and the coordinator's pages and the
// ledger; the county reviews; the result is public. On the way: another
// county's pages and actions are refused (403), a POST without the CSRF
// token is refused, a locked-out account cannot sign in, sign-out ends the
// session; every page passes axe-core with no console error, and each step
// is a screenshot (go test -artifacts).
//
// The deadlines are the batch's own short policy (result entry one working
// day, a reminder one working day before at 00:00), and the lock is moved
// back 20 days so that an inspection 14 days ago is allowed and its result
// is late at once: no rule waits for the wall clock.
func TestConsoleWholeBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a batch on a real Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dbURL := testenv.NewDatabase(t)
	db := sqlx.MustOpen("postgres", dbURL)
	defer db.Close()
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	ensureCalendar(t, ctx, db)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	const password = "Jiaxing-console-2026"
	for _, u := range []auth.NewUser{
		{Username: "zhang", DisplayName: "张统筹", Role: auth.Coordinator, Password: password},
		{Username: "wang", DisplayName: "王科长", Role: auth.CountyOfficer, County: "330402", Password: password},
		{Username: "shen", DisplayName: "沈审计", Role: auth.Auditor, Password: password},
		{Username: "zhao", DisplayName: "赵科员", Role: auth.CountyOfficer, County: "330411", Password: password},
	} {
		if _, err := auth.CreateUser(ctx, db, "test", u); err != nil {
			t.Fatal(err)
		}
	}
	// Contacts of the county and the city: the reminders and escalations
	// are written to the log and listed in the inbox.
	contacts := notify.NewStore(db)
	for _, c := range []struct{ region, role string }{{"330402", "county_officer"}, {"330402", "county_head"}, {"330400", "city_coordinator"}} {
		if _, err := contacts.AddContact(ctx, notify.NewContact{RegionCode: c.region, Role: c.role, Name: "测试 " + c.role, Channel: "log", Address: "console"}, "test"); err != nil {
			t.Fatal(err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Register(newFlagSetForTest())
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue = testenv.RuntimeURL(dbURL), testenv.TemporalAddress(t), testenv.UniqueID("console-work")
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), contractChecked(t, roles{api: true, worker: true}), ln, nil)
	}()
	defer func() { stop(); <-served }()
	sys := &liveSystem{t: t, ctx: ctx, db: db, base: "http://" + ln.Addr().String()}
	base := sys.base

	b := browsertest.Start(t)
	p := &pageRun{t: t, b: b, base: base}
	today := workday.DateOf(time.Now())

	// 1. The coordinator previews and starts the batch: ZR-01 in 南湖区,
	// two objects, with the short policy; then the beacon.
	p.width(1280)
	p.signIn("zhang", password, "#h-batches")
	id := testenv.UniqueID("WRK")
	p.do(chromedp.Navigate(base+"/console/batches/new"), chromedp.WaitVisible(chromedp.CSS("#id")),
		chromedp.SendKeys(chromedp.CSS("#id"), id), chromedp.SendKeys(chromedp.CSS("#name"), "工作台全流程批次"),
		setValue("#inspection_end", today.AddDays(60).String()),
		chromedp.Click(chromedp.CSS("#item-ZR-01-1")), chromedp.Click(chromedp.CSS("#region-330402")),
		setValue(`input[name="q0_ratio"]`, ""), setValue(`input[name="q0_min"]`, ""), setValue(`input[name="q0_count"]`, "2"),
		setValue("#window_days", "0"), setValue("#result_entry_days", "1"), setValue("#reminder_offsets", "1"), setValue("#reminder_time", "00:00"),
		chromedp.Click(chromedp.CSS(`button[value="simulate"]`)), chromedp.WaitVisible(chromedp.CSS("#simulation")))
	if got := p.text("#sim-quota"); got != "2" {
		t.Fatalf("preview: %s to draw, want 2: %s", got, p.text("#simulation"))
	}
	p.check("01-coordinator-preview", 1280)
	p.do(chromedp.Click(chromedp.CSS(`button[value="create"]`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	sys.eventually("the freeze", time.Minute, func() bool { return sys.state(id) == "frozen" })
	// The workflow takes the beacon a moment after the database says
	// frozen: the page shows the API's refusal until then.
	p.retry("the beacon", func() bool {
		p.do(chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#beacon")),
			chromedp.SendKeys(chromedp.CSS("#beacon"), "2026 见证人甲|见证人乙"))
		p.act(chromedp.Submit(chromedp.CSS("#beacon")))
		return p.has(".flash")
	})
	sys.eventually("the lock", time.Minute, func() bool { return sys.state(id) == "locked" })
	// As if locked 20 days ago: the late inspection below is 14 days old.
	sys.lockedDaysAgo(id, 20)
	// A conflict of interest declared in the directory since: the pool
	// shows the recusal and why.
	var conflicted, conflictObject string
	if err := db.Get(&conflicted, `SELECT key FROM inspectors WHERE region_code = '330402' AND 'land' = ANY (tags) AND status = 'active' ORDER BY key LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&conflictObject, `SELECT object_key FROM batch_objects WHERE batch_id = $1 ORDER BY position LIMIT 1`, id); err != nil {
		t.Fatal(err)
	}
	db.MustExec(`INSERT INTO inspector_conflicts (inspector_key, object_key, reason) VALUES ($1, $2, '配偶为该单位负责人')`, conflicted, conflictObject)
	p.do(chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#progress")))
	p.check("02-coordinator-batch-locked", 1280)
	p.signOut()

	// 2. The county officer: the assignment on the 待办, the pool, the match.
	p.signIn("wang", password, "#h-matches")
	if got := p.text("#matches"); !strings.Contains(got, id) {
		t.Fatalf("the county's 待办 lacks batch %s: %s", id, got)
	}
	p.check("03-county-assigned", 1280)
	p.do(chromedp.Click(chromedp.CSS(`#matches a.button`)), chromedp.WaitVisible(chromedp.CSS("#pool")))
	if rows := p.count("#pool tbody tr"); rows != 2 {
		t.Errorf("pool preview: %d objects, want 2", rows)
	}
	if got := p.text("#pool"); !strings.Contains(got, conflicted+"）：申报了利害关系") {
		t.Errorf("pool preview lacks the recusal of %s: %s", conflicted, got)
	}
	p.check("04-county-pool", 1280)
	p.retry("the county's match", func() bool {
		p.do(chromedp.Navigate(base+"/console/batches/"+id+"/counties/330402/match"), chromedp.WaitVisible(chromedp.CSS("#run-match")))
		p.act(chromedp.Click(chromedp.CSS("#run-match")))
		return p.has(".flash")
	})
	if flash := p.text(".flash"); !strings.Contains(flash, "已完成匹配") {
		t.Errorf("after the match: %q", flash)
	}
	var tasks []struct {
		Key  string         `db:"object_key"`
		Team pq.StringArray `db:"inspectors"`
	}
	// The object workflows write the tasks of the match's teams.
	sys.eventually("the two tasks", time.Minute, func() bool {
		return sys.count(`SELECT count(*) FROM tasks WHERE batch_id = $1 AND cardinality(inspectors) > 0`, id) == 2
	})
	if err := db.Select(&tasks, `SELECT object_key, inspectors FROM tasks WHERE batch_id = $1 ORDER BY object_key`, id); err != nil || len(tasks) != 2 {
		t.Fatalf("tasks after the match: %v %v", tasks, err)
	}
	onTime, late := tasks[0], tasks[1]
	for _, tk := range tasks {
		if tk.Key == conflictObject && slices.Contains(tk.Team, conflicted) {
			t.Errorf("%s was recused from %s and matched to it", conflicted, tk.Key)
		}
	}
	// The object workflows plan the inspection deadlines a moment after
	// the match wrote the tasks.
	sys.eventually("the inspection deadlines on the 待办", time.Minute, func() bool {
		p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#deadlines")))
		return strings.Count(p.text("#deadlines"), "个工作日") == 2
	})
	p.check("05-county-matched", 1280)

	// Another county's pages and actions are refused; so is a POST without
	// the CSRF token.
	for i, path := range []string{"/console/counties/330411", "/console/counties/330411/ledger", "/console/batches/" + id + "/counties/330411/match"} {
		status := p.status(path)
		if status != http.StatusForbidden || !strings.Contains(p.text("main"), "只能") {
			t.Errorf("%s as 南湖区: %d %s", path, status, p.text("main"))
		}
		p.check("06-county-other-county-403-"+strconv.Itoa(i), 1280)
	}
	h := p.httpClient()
	token := p.csrf()
	if code, body := h.post("/console/batches/"+id+"/counties/330411/match", url.Values{"csrf": {token}}); code != http.StatusForbidden || !strings.Contains(body, "只能办理本县事项") {
		t.Errorf("matching another county: %d", code)
	}
	if code, body := h.post("/console/batches/"+id+"/tasks/"+late.Key+"/inspected", url.Values{"completed_on": {today.String()}}); code != http.StatusForbidden || !strings.Contains(body, "防伪令牌") {
		t.Errorf("POST without CSRF: %d", code)
	}
	var stage string
	if err := db.Get(&stage, `SELECT stage FROM tasks WHERE batch_id = $1 AND object_key = $2`, id, late.Key); err != nil || stage != "assigned" {
		t.Errorf("the forged POST changed the task: %s %v", stage, err)
	}
	// One of the late object's team falls ill: the next of the published
	// match order replaces them, with the reason.
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+late.Key), chromedp.WaitVisible(chromedp.CSS("#reason")),
		chromedp.SetValue(chromedp.CSS("#inspector_key"), late.Team[0]), chromedp.SendKeys(chromedp.CSS("#reason"), "因病无法参加检查"))
	p.act(chromedp.Submit(chromedp.CSS("#reason")))
	if !strings.Contains(p.text(".flash"), "替换") || strings.Contains(p.text("#team"), late.Team[0]) {
		t.Errorf("replacement of %s: %s", late.Team[0], p.text("main"))
	}
	p.check("07a-county-replaced", 1280)

	// The late object: inspected 14 days ago, its result left out.
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+late.Key), chromedp.WaitVisible(chromedp.CSS("#completed_on")),
		setValue("#completed_on", today.AddDays(-14).String()))
	p.act(chromedp.Submit(chromedp.CSS("#completed_on")))
	if !p.has(".flash") {
		t.Fatalf("recording the late inspection: %s", p.text("main"))
	}
	p.check("07b-county-late-inspected", 1280)
	p.signOut()

	// 3. An inspector of the on-time object's team, on a phone.
	inspector := onTime.Team[0]
	if _, err := auth.CreateUser(ctx, db, "test", auth.NewUser{Username: "jiancha", DisplayName: "检查员", Role: auth.Inspector, InspectorKey: inspector, Password: password}); err != nil {
		t.Fatal(err)
	}
	p.width(360)
	p.signIn("jiancha", password, "#my-tasks")
	if got := p.text("#my-tasks"); !strings.Contains(got, "检查") || p.count("#my-tasks tbody tr") < 1 {
		t.Errorf("我的任务: %s", got)
	}
	p.check("08-inspector-tasks", 360)
	p.do(chromedp.Click(chromedp.CSS(`#my-tasks a[href$="/`+onTime.Key+`"]`)), chromedp.WaitVisible(chromedp.CSS("#completed_on")))
	p.do(setValue("#completed_on", today.String()))
	p.act(chromedp.Submit(chromedp.CSS("#completed_on")))
	if !p.has(".flash") {
		t.Fatalf("recording the inspection: %s", p.text("main"))
	}
	// The reminder of the result due tomorrow goes out at once (00:00 of
	// today, a working day); on a weekend or holiday it is rightly not sent.
	working, err := workday.NewStore(db).Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remindToday, _ := working.IsWorkingDay(today)
	if remindToday {
		sys.eventually("the reminder", 2*time.Minute, func() bool {
			return sys.count(`SELECT count(*) FROM notifications WHERE kind = 'reminder' AND payload->>'batch_id' = $1 AND payload->>'object_key' = $2`, id, onTime.Key) > 0
		})
		p.do(chromedp.Navigate(base+"/console/tasks"), chromedp.WaitVisible(chromedp.CSS("#notifications")))
		if got := p.text("#notifications"); !strings.Contains(got, "提醒") {
			t.Errorf("the inspector's notifications: %s", got)
		}
		p.check("09-inspector-reminder", 360)
	} else {
		t.Logf("%s is not a working day: no reminder is due today", today)
	}
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+onTime.Key), chromedp.WaitVisible(chromedp.CSS("#result_code")))
	// ZR-01 is checked on site or in writing: the choices are Chinese.
	if opts := p.text("#method"); !strings.Contains(opts, "实地检查") || strings.Contains(opts, "on_site") {
		t.Errorf("method choices: %s", opts)
	}
	p.check("10-inspector-result-form", 360)
	p.do(chromedp.SetValue(chromedp.CSS("#result_code"), "no_problem"), chromedp.SetValue(chromedp.CSS("#method"), "on_site"),
		chromedp.SendKeys(chromedp.CSS("#notes"), "现场核查复垦方案落实情况，未发现问题。"))
	p.act(chromedp.Submit(chromedp.CSS("#notes")))
	if !p.has(".flash") || !strings.Contains(p.text("#task-result"), "未发现问题") {
		t.Fatalf("entering the result: %s", p.text("main"))
	}
	p.check("11-inspector-result-entered", 360)
	p.do(chromedp.Click(chromedp.CSS("#sheet-link")), chromedp.WaitVisible(chromedp.CSS("#sheet")))
	sheet := p.text("#sheet")
	for _, want := range []string{"检查记录表", "检查依据", "检查内容", "检查组", "实地检查", "未发现问题", "检查人员签名", "检查对象签字"} {
		if !strings.Contains(sheet, want) {
			t.Errorf("the record sheet lacks %q", want)
		}
	}
	p.check("12-inspector-sheet", 360)
	// Printed: A4 width, the console's header and navigation gone.
	p.width(794)
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if v := browsertest.Get(t, b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.site")).display`)); v != "none" {
		t.Errorf("printed sheet shows the header (display %s)", v)
	}
	browsertest.Shot(t, b, "13-inspector-sheet-print-a4.png")
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	p.signOut()

	// 4. The late result's escalation reaches the county and the city.
	sys.eventually("the escalation", 2*time.Minute, func() bool {
		return sys.count(`SELECT count(*) FROM notifications WHERE kind = 'escalation' AND payload->>'batch_id' = $1 AND payload->>'object_key' = $2`, id, late.Key) >= 2
	})
	p.width(1280)
	p.signIn("wang", password, "#h-matches")
	notes := p.text("#notifications")
	if !strings.Contains(notes, "督办") || (remindToday && !strings.Contains(notes, "提醒")) {
		t.Errorf("the county's notifications: %s", notes)
	}
	if p.count("#deadlines tr.row-overdue") != 1 || !strings.Contains(p.text("#deadlines"), "已逾期") {
		t.Errorf("the late result is not marked overdue: %s", p.text("#deadlines"))
	}
	if got := p.text("#reviews"); !strings.Contains(got, onTime.Key) && !strings.Contains(got, sys.objectName(onTime.Key)) {
		t.Errorf("the result to review is not on the 待办: %s", got)
	}
	p.check("14-county-escalation", 1280)
	p.do(chromedp.Navigate(base+"/console/counties/330402/ledger"), chromedp.WaitVisible(chromedp.CSS("#ledger")))
	if got := p.text("#ledger"); !strings.Contains(got, late.Key) || !strings.Contains(got, "结果录入") {
		t.Errorf("ledger: %s", got)
	}
	p.check("15-county-ledger", 1280)
	// The review: a return needs its comment (the API says so), then the
	// approval.
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+onTime.Key), chromedp.WaitVisible(chromedp.CSS("#decision-approve")),
		chromedp.Click(chromedp.CSS("#decision-return")))
	p.act(chromedp.Submit(chromedp.CSS("#comment")))
	refused := p.text(".notice") + "\n" + p.text("table.problems")
	if !strings.Contains(refused, "退回检查结果时请写明需要修改的内容") || !strings.Contains(refused, "意见说明") || regexp.MustCompile(`\b(must|the|is|comment)\b`).MatchString(refused) {
		t.Errorf("a return without a comment: %s", refused)
	}
	p.check("16-county-review-refused", 1280)
	p.do(chromedp.Click(chromedp.CSS("#decision-approve")))
	p.act(chromedp.Submit(chromedp.CSS("#comment")))
	if !p.has(".flash") {
		t.Fatalf("approving: %s", p.text("main"))
	}
	p.check("17-county-approved", 1280)
	p.signOut()

	// 5. The coordinator sees the escalation on the batch and the dashboard.
	p.signIn("zhang", password, "#h-batches")
	if got := p.text("#fig-overdue"); got != "1" {
		t.Errorf("dashboard overdue: %s", got)
	}
	p.do(chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#notifications")))
	if got := p.text("#notifications"); !strings.Contains(got, "督办") {
		t.Errorf("the coordinator's batch page: %s", got)
	}
	if got := p.text("#tasks"); !strings.Contains(got, "已逾期") {
		t.Errorf("the batch's tasks do not show the late result: %s", got)
	}
	p.check("18-coordinator-escalation", 1280)
	p.signOut()

	// 6. The approved result is published on the portal.
	sys.eventually("the publication", 2*time.Minute, func() bool {
		return sys.count(`SELECT count(*) FROM tasks WHERE batch_id = $1 AND object_key = $2 AND stage IN ('published', 'closed')`, id, onTime.Key) == 1
	})
	p.do(chromedp.Navigate(base+"/objects/"+url.PathEscape(onTime.Key)), chromedp.WaitReady(chromedp.CSS("footer")))
	if got := p.text("main"); !strings.Contains(got, "未发现问题") || !strings.Contains(got, id) {
		t.Errorf("the portal's object page: %s", got)
	}
	p.check("19-portal-result", 1280)

	// The late result at last: a problem found and corrected, approved,
	// then its follow-up; the ledger entry is resolved with the working
	// days it was late.
	p.signIn("wang", password, "#h-matches")
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+late.Key), chromedp.WaitVisible(chromedp.CSS("#result_code")),
		chromedp.SetValue(chromedp.CSS("#result_code"), "corrected"), chromedp.SetValue(chromedp.CSS("#method"), "on_site"),
		chromedp.SendKeys(chromedp.CSS("#notes"), "复垦进度滞后，已责令限期整改并当场改正。"))
	p.act(chromedp.Submit(chromedp.CSS("#notes")))
	if !p.has(".flash") {
		t.Fatalf("entering the late result: %s", p.text("main"))
	}
	p.do(chromedp.Click(chromedp.CSS("#decision-approve")))
	p.act(chromedp.Submit(chromedp.CSS("#comment")))
	if !p.has(".flash") {
		t.Fatalf("approving the late result: %s", p.text("main"))
	}
	sys.eventually("the follow-up stage", 2*time.Minute, func() bool {
		return sys.count(`SELECT count(*) FROM tasks WHERE batch_id = $1 AND object_key = $2 AND stage = 'follow_up'`, id, late.Key) == 1
	})
	p.do(chromedp.Navigate(base+"/console/counties/330402"), chromedp.WaitVisible(chromedp.CSS("#followups")))
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/tasks/"+late.Key), chromedp.WaitVisible(chromedp.CSS("#fu_completed_on")))
	if got := p.text("#h-followup + form"); !strings.Contains(got, "责令改正") || strings.Contains(got, "order_correction") {
		t.Errorf("follow-up choices: %s", got)
	}
	p.check("19a-county-follow-up-form", 1280)
	p.do(setValue("#fu_completed_on", today.String()), chromedp.Click(chromedp.CSS("#action-order_correction")),
		chromedp.SendKeys(chromedp.CSS("#fu_notes"), "已复查，整改到位。"))
	p.act(chromedp.Submit(chromedp.CSS("#fu_notes")))
	if !strings.Contains(p.text(".flash"), "后续监管结果已录入") {
		t.Fatalf("entering the follow-up: %s", p.text("main"))
	}
	sys.eventually("the late object closed", 2*time.Minute, func() bool {
		return sys.count(`SELECT count(*) FROM tasks WHERE batch_id = $1 AND object_key = $2 AND stage = 'closed'`, id, late.Key) == 1
	})
	p.do(chromedp.Navigate(base+"/console/counties/330402/ledger"), chromedp.WaitVisible(chromedp.CSS("#ledger")))
	if got := p.text("#ledger"); strings.Contains(got, "尚未补办") || strings.Contains(got, "+00") {
		t.Errorf("the ledger entry is not resolved: %s", got)
	}
	p.check("19b-county-ledger-resolved", 1280)
	p.signOut()

	// 7. The auditor: the proofs and the audit trail, verified.
	p.signIn("shen", password, "#h-batches")
	p.do(chromedp.Navigate(base+"/console/batches/"+id+"/proofs"), chromedp.WaitReady(chromedp.CSS("footer")),
		chromedp.Click(chromedp.CSS(`main ul a`)), chromedp.WaitVisible(chromedp.CSS("#proof")))
	if got := p.text("#proof"); !strings.Contains(got, "匹配种子") || !strings.Contains(got, onTime.Key) {
		t.Errorf("proof: %s", got)
	}
	if got := p.text("main ul"); !strings.Contains(got, "替换（"+late.Key+"，第 2 轮）") {
		t.Errorf("the proofs lack the replacement: %s", got)
	}
	p.check("20-auditor-proof", 1280)
	// The batch as the auditor reads it: no form to act with.
	p.do(chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	if p.count("main form") != 0 {
		t.Errorf("the auditor's batch page has %d forms", p.count("main form"))
	}
	p.check("20a-auditor-batch", 1280)
	p.do(chromedp.Navigate(base+"/console/audit"), chromedp.WaitVisible(chromedp.CSS("#verify")),
		chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	if got := p.text("#verify-result"); !strings.Contains(got, "校验通过") {
		t.Errorf("audit verification: %s", got)
	}
	if got := p.text("#audit"); !strings.Contains(got, "match") {
		t.Errorf("audit trail: %s", got)
	}
	p.check("21-auditor-audit", 1280)
	// Read only: the auditor's session cannot act.
	h = p.httpClient()
	if code, _ := h.post("/console/batches/"+id+"/tasks/"+late.Key+"/result", url.Values{"csrf": {p.csrf()}, "result_code": {"no_problem"}, "method": {"on_site"}}); code != http.StatusForbidden {
		t.Errorf("an auditor entering a result: %d", code)
	}
	// Sign-out ends the session: its cookie opens nothing afterwards.
	cookie := p.sessionCookie()
	p.signOut()
	if code, _ := (&consoleHTTP{t: t, base: base, cookie: cookie}).get("/console/audit"); code != http.StatusSeeOther {
		t.Errorf("the signed-out session still opens a page: %d", code)
	}

	// 8. Five wrong passwords lock an account; then the right one is refused.
	for range auth.MaxFailedSignIns {
		p.signInAttempt("zhao", "not-the-password-1")
	}
	p.signInAttempt("zhao", password)
	if got := p.text(".notice"); !strings.Contains(got, "已被锁定") {
		t.Errorf("a locked account: %s", got)
	}
	p.check("22-locked-out", 1280)
}

// pageRun is one person at the browser.
type pageRun struct {
	t    *testing.T
	b    *browsertest.Browser
	base string
	w    int64
}

func (p *pageRun) do(steps ...chromedp.Action[chromedp.Void]) { p.t.Helper(); p.b.Do(p.t, steps...) }

func (p *pageRun) width(w int64) {
	p.t.Helper()
	p.w = w
	p.do(chromedp.EmulateViewport(w, 900))
}

func (p *pageRun) text(sel string) string {
	p.t.Helper()
	return browsertest.Get(p.t, p.b, chromedp.Evaluate[string]("(document.querySelector("+jsString(sel)+") || {}).innerText || ''"))
}

func (p *pageRun) has(sel string) bool {
	p.t.Helper()
	return browsertest.Get(p.t, p.b, chromedp.Evaluate[bool]("document.querySelector("+jsString(sel)+") !== null"))
}

func (p *pageRun) count(sel string) int {
	p.t.Helper()
	return browsertest.Get(p.t, p.b, chromedp.Evaluate[int]("document.querySelectorAll("+jsString(sel)+").length"))
}

// status navigates to path and returns the page's HTTP status.
func (p *pageRun) status(path string) int {
	p.t.Helper()
	resp := browsertest.Get(p.t, p.b, chromedp.NavigateResponse(p.base+path))
	p.do(chromedp.WaitReady(chromedp.CSS("footer")))
	return int(resp.Status)
}

// act runs an action that loads a new page (a submit, a click on a link)
// and waits for the new page's footer: the page shown before is marked,
// so that nothing of it is taken for the answer.
func (p *pageRun) act(a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](`document.body.dataset.stale = "1"`), a,
		chromedp.WaitReady(chromedp.CSS("body:not([data-stale]) footer")))
}

func (p *pageRun) signInAttempt(user, password string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), password))
	p.act(chromedp.Submit(chromedp.CSS("#password")))
}

// signIn signs in through the form and waits for sel on the role's first
// page.
func (p *pageRun) signIn(user, password, sel string) {
	p.t.Helper()
	p.signInAttempt(user, password)
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (p *pageRun) signOut() {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+"/console/items"), chromedp.WaitVisible(chromedp.CSS("button.link")),
		chromedp.Click(chromedp.CSS("button.link")), chromedp.WaitVisible(chromedp.CSS("#username")))
}

// retry repeats a step whose page shows the API's refusal while the
// workflow is not yet ready for it.
func (p *pageRun) retry(what string, step func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !step() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: still refused: %s", what, p.text("main"))
		}
		time.Sleep(time.Second)
	}
	_ = p.b.ConsoleErrors() // the refusals' 409s, logged by Chromium
}

// check runs axe-core and looks for console errors on the page shown, and
// saves its screenshot.
func (p *pageRun) check(name string, width int) {
	p.t.Helper()
	for _, v := range p.b.Axe(p.t) {
		p.t.Errorf("%s: axe %s (%s): %s %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
	loc := browsertest.Get(p.t, p.b, chromedp.Location())
	if errs := pageErrorsOf(p.b, loc); len(errs) > 0 {
		p.t.Errorf("%s: console errors: %v", name, errs)
	}
	browsertest.Shot(p.t, p.b, name+"-"+strconv.Itoa(width)+".png")
}

// pageErrorsOf is what the browser logged as errors but the status of a
// refused page itself (Chromium logs its 4xx).
func pageErrorsOf(b *browsertest.Browser, page string) []string {
	var out []string
	for _, e := range b.ConsoleErrors() {
		if strings.HasPrefix(e, "Failed to load resource: the server responded with a status of 4") && (page == "" || strings.HasSuffix(e, " "+page)) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (p *pageRun) sessionCookie() string {
	p.t.Helper()
	res, err := chromedp.Call(p.b.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/console/"}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "spotcheck_session" {
			return c.Value
		}
	}
	p.t.Fatal("no session cookie in the browser")
	return ""
}

// csrf is the CSRF token of the page shown.
func (p *pageRun) csrf() string {
	p.t.Helper()
	return browsertest.Get(p.t, p.b, chromedp.Evaluate[string](`(document.querySelector('input[name="csrf"]') || {}).value || ''`))
}

// httpClient is a plain HTTP client with the browser's session cookie:
// requests no page of the console would send.
func (p *pageRun) httpClient() *consoleHTTP {
	return &consoleHTTP{t: p.t, base: p.base, cookie: p.sessionCookie()}
}

type consoleHTTP struct {
	t            *testing.T
	base, cookie string
}

func (h *consoleHTTP) send(method, path string, form url.Values) (int, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, h.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: "spotcheck_session", Value: h.cookie})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *consoleHTTP) post(path string, form url.Values) (int, string) {
	return h.send("POST", path, form)
}
func (h *consoleHTTP) get(path string) (int, string) { return h.send("GET", path, nil) }

func (s *liveSystem) state(id string) string {
	var state string
	_ = s.db.Get(&state, `SELECT state FROM batches WHERE id = $1`, id)
	return state
}

func (s *liveSystem) count(q string, args ...any) int {
	var n int
	if err := s.db.Get(&n, q, args...); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *liveSystem) objectName(key string) string {
	var name string
	_ = s.db.Get(&name, `SELECT name FROM objects WHERE key = $1`, key)
	return name
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
