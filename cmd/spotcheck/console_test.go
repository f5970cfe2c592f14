package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/browsertest"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/migrations"
)

// TestConsoleBatch is the city's side of a batch in the 工作台, in
// Chromium, on the whole system (API, worker, PostgreSQL, Temporal): a
// coordinator signs in, previews the draw, creates the batch, gives the
// beacon, watches the dashboard change without a reload as the counties
// match (through the API, as the county side), and extends a deadline.
func TestConsoleBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a batch on a real Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// A database of its own: the dashboard counts every batch of the year.
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
	const password = "Jiaxing-coordinator-2026"
	if _, err := auth.CreateUser(ctx, db, "test", auth.NewUser{Username: "zhang", DisplayName: "张统筹", Role: auth.Coordinator, Password: password}); err != nil {
		t.Fatal(err)
	}
	officer := func(county string) string {
		_, tok, err := auth.CreateKey(ctx, db, "test", auth.NewKey{Name: "console " + county, Role: auth.CountyOfficer, County: county})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	officers := map[string]string{"330402": officer("330402"), "330411": officer("330411")}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Register(newFlagSetForTest())
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue = dbURL, testenv.TemporalAddress(t), testenv.UniqueID("console")
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), contractChecked(t, roles{api: true, worker: true}), ln, nil)
	}()
	defer func() { stop(); <-served }()
	sys := &liveSystem{t: t, ctx: ctx, db: db, base: "http://" + ln.Addr().String()}
	base := sys.base

	b := browsertest.Start(t)
	text := func(sel string) string { return browsertest.Get(t, b, chromedp.Text(chromedp.CSS(sel))) }
	// Sign in.
	b.Do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/console/batches/new"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "zhang"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#id")))

	// The form: ZR-01 in two counties, two objects per county; preview.
	id := testenv.UniqueID("CON")
	end := workday.DateOf(time.Now()).AddDays(60).String()
	b.Do(t, chromedp.SendKeys(chromedp.CSS("#id"), id), chromedp.SendKeys(chromedp.CSS("#name"), "工作台测试批次"),
		setValue("#inspection_end", end),
		chromedp.Click(chromedp.CSS("#item-ZR-01-1")), chromedp.Click(chromedp.CSS("#region-330402")), chromedp.Click(chromedp.CSS("#region-330411")),
		setValue(`input[name="q0_ratio"]`, ""), setValue(`input[name="q0_min"]`, ""),
		setValue(`input[name="q0_count"]`, "2"), setValue("#window_days", "0"),
		chromedp.Click(chromedp.CSS(`button[value="simulate"]`)), chromedp.WaitVisible(chromedp.CSS("#simulation")))
	if got := text("#sim-quota"); got != "4" {
		t.Fatalf("preview: %s objects to draw, want 4 (2 per county): %s", got, text("#simulation"))
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM batches WHERE id = $1`, id); err != nil || n != 0 {
		t.Fatalf("the preview stored the batch (%d, %v)", n, err)
	}
	// Create: the batch page with its commitment, then the beacon once
	// the population is frozen.
	b.Do(t, chromedp.Click(chromedp.CSS(`button[value="create"]`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	if flash := text(".flash"); !strings.Contains(flash, "批次已创建") {
		t.Errorf("after create: %q", flash)
	}
	sys.eventually("the freeze", time.Minute, func() bool {
		var state string
		_ = db.Get(&state, `SELECT state FROM batches WHERE id = $1`, id)
		return state == "frozen"
	})
	b.Do(t, chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#beacon")),
		chromedp.SendKeys(chromedp.CSS("#beacon"), "2026 见证人甲|见证人乙"), chromedp.Submit(chromedp.CSS("#beacon")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := text(".flash"); !strings.Contains(flash, "公开随机值已录入") {
		t.Errorf("after the beacon: %q", flash)
	}
	sys.eventually("the lock", time.Minute, func() bool {
		var state string
		_ = db.Get(&state, `SELECT state FROM batches WHERE id = $1`, id)
		return state == "locked"
	})
	b.Do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#progress")))
	if tl := text("#timeline"); !strings.Contains(tl, "2026 见证人甲|见证人乙") || strings.Contains(tl, "尚未") {
		t.Errorf("timeline after the lock: %s", tl)
	}

	// The dashboard: four awaiting their match; it changes without a
	// reload as each county matches through the API.
	b.Do(t, chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#fig-awaiting")))
	if got := text("#fig-awaiting"); got != "4" {
		t.Fatalf("dashboard before the match: %s awaiting", got)
	}
	wait := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for text(sel) != want {
			if time.Now().After(deadline) {
				t.Fatalf("dashboard: %s is %s, want %s without a reload", sel, text(sel), want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	for i, county := range []string{"330402", "330411"} {
		sys.match(id, county, officers[county])
		wait("#fig-awaiting", strconv.Itoa(2-2*i))
		wait("#fig-assigned", strconv.Itoa(2+2*i))
	}
	for _, v := range b.Axe(t) {
		t.Errorf("axe %s (%s): %s %v", v.ID, v.Impact, v.Help, v.Nodes)
	}
	browsertest.Shot(t, b, "console-dashboard-live-1280.png")

	// Extend the first task's inspection deadline by 3 working days.
	b.Do(t, chromedp.Navigate(base+"/console/batches/"+id), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	before := text("#tasks tbody tr:first-child .due-inspection")
	b.Do(t, chromedp.SendKeys(chromedp.CSS("#tasks tbody tr:first-child input[name=working_days]"), "3"),
		chromedp.SendKeys(chromedp.CSS("#tasks tbody tr:first-child input[name=reason]"), "企业停产检修，经批准延期"),
		chromedp.Submit(chromedp.CSS("#tasks tbody tr:first-child input[name=reason]")), chromedp.WaitVisible(chromedp.CSS(".flash, .notice")))
	if refused := browsertest.Get(t, b, chromedp.Evaluate[string](`(document.querySelector(".notice") || {}).innerText || ""`)); refused != "" {
		t.Fatalf("extension refused: %s", refused)
	}
	flash, after := text(".flash"), text("#tasks tbody tr:first-child .due-inspection")
	if !strings.Contains(flash, "期限已延长") || !strings.Contains(flash, after) || after == before {
		t.Errorf("extension: %q; inspection due %s before, %s after", flash, before, after)
	}
	var reason string
	if err := db.Get(&reason, `SELECT reason FROM deadline_extensions WHERE batch_id = $1`, id); err != nil || reason != "企业停产检修，经批准延期" {
		t.Errorf("extension record: %q %v", reason, err)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	browsertest.Shot(t, b, "console-batch-extended-1280.png")
}

// setValue sets a form field's value as a person's typing would end.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = %q`, sel, value))
}
