package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/notify/notifytest"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// webhookInbox is a county's webhook receiver that checks signatures.
type webhookInbox struct {
	mu     sync.Mutex
	secret string
	got    []notify.Notification
	bad    int
}

func (w *webhookInbox) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(w.secret))
	mac.Write(body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Header.Get("X-Spotcheck-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		w.bad++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n notify.Notification
	json.Unmarshal(body, &n)
	w.got = append(w.got, n)
}

func (w *webhookInbox) kinds() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]int{}
	for _, n := range w.got {
		m[n.Kind+":"+n.Role]++
	}
	return m
}

// TestBatchEndToEnd runs a small batch on demo data through the real API,
// a real Temporal server and PostgreSQL: create, beacon, draw, lock, county
// matching, inspection, results (one entered late), reminders and an
// escalation delivered to a webhook, review, publication, summary and
// archive.
func TestBatchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a batch on a real Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dbURL, tAddr := testenv.DatabaseURL(t), testenv.TemporalAddress(t)
	db := sqlx.MustOpen("postgres", dbURL)
	defer db.Close()
	ensureCalendar(t, ctx, db)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	inbox := &webhookInbox{secret: "e2e-webhook-secret-0123456789"}
	hook := httptest.NewServer(inbox)
	defer hook.Close()
	contacts := notify.NewStore(db)
	for _, c := range []struct{ region, role string }{{"330402", "county_officer"}, {"330402", "county_head"}, {"330411", "county_officer"}, {"330411", "county_head"}, {"330400", "city_coordinator"}} {
		if _, err := contacts.AddContact(ctx, notify.NewContact{RegionCode: c.region, Role: c.role, Name: "e2e " + c.role,
			Channel: "webhook", Address: hook.URL + "/" + c.region + "/" + c.role, Secret: inbox.secret}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	// Each county's officer also reads a DingTalk group, as a digest
	// contact: the assignment at once, reminders once a working day.
	robots := notifytest.StartDingTalk(t, nil)
	for _, county := range []string{"330402", "330411"} {
		tokenOf := "e2e-robot-" + county
		robots.AddRobot(tokenOf, "SEC-e2e-"+tokenOf)
		if _, err := contacts.AddContact(ctx, notify.NewContact{RegionCode: county, Role: "county_officer", Name: "e2e 钉钉群",
			Channel: "dingtalk", Address: tokenOf, Secret: "SEC-e2e-" + tokenOf, Mobile: "13900000001", Delivery: "digest"}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	robotTitles := func(county string) map[string]int {
		m := map[string]int{}
		for _, msg := range robots.Messages() {
			if msg.Token == "e2e-robot-"+county {
				if !msg.SignatureOK || msg.ErrCode != 0 {
					t.Errorf("robot message refused: %+v", msg)
				}
				m[msg.Title]++
			}
		}
		return m
	}
	token := func(role auth.Role, county string) string {
		_, tok, err := auth.CreateKey(ctx, db, "test", auth.NewKey{Name: "e2e " + string(role) + county, Role: role, County: county})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	coordinator := token(auth.Coordinator, "")
	officers := map[string]string{"330402": token(auth.CountyOfficer, "330402"), "330411": token(auth.CountyOfficer, "330411")}

	// The system: API and worker in this process, on the test servers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlagSetForTest()
	cfg := config.Register(fs)
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue = testenv.RuntimeURL(dbURL), tAddr, "e2e"
	cfg.DingTalkBaseURL, cfg.CountyPageURL = robots.URL, "https://spotcheck.example.gov.cn/counties/{county}"
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), contractChecked(t, roles{api: true, worker: true}), ln, nil)
	}()
	defer func() { stop(); <-served }()
	base := "http://" + ln.Addr().String()

	call := func(method, path, tok string, body any, want int) map[string]any {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, r)
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
		}
		out := map[string]any{}
		json.Unmarshal(raw, &out)
		return out
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	today := workday.DateOf(time.Now())
	id := testenv.UniqueID("E2E")
	call("POST", "/api/v1/batches", coordinator, map[string]any{
		"id": id, "name": "端到端测试批次",
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": "ZR-01", "version": 1}},
			"filter":      map[string]any{"regions": []string{"330402", "330411"}},
			"strata_keys": []string{"region"},
			"quotas":      []any{map[string]any{"count": 2}},
			"exclusions":  map[string]any{"window_days": 0},
		},
		"inspection_end": today.AddDays(60).String(),
		// Result entry is due one working day after the inspection; the
		// reminder one working day before goes out at midnight, i.e. now.
		"policy": map[string]any{"result_entry_days": 1, "reminder_offsets": []int{1}, "reminder_time": "00:00", "progress_seconds": 1},
	}, http.StatusCreated)
	// The beacon is taken once the population is frozen, never before.
	eventually("the freeze", func() bool {
		return call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["state"] == "frozen"
	})
	// The database says frozen a moment before the workflow has taken the
	// freeze's result: 409 "is freezing" until then.
	eventually("the workflow to await the beacon", func() bool {
		b, _ := json.Marshal(map[string]string{"beacon": "witness-a|witness-b"})
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/batches/"+id+"/beacon", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+coordinator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
			t.Fatalf("beacon: %d", resp.StatusCode)
		}
		return resp.StatusCode == http.StatusOK
	})
	call("POST", "/api/v1/batches/"+id+"/beacon", coordinator, map[string]any{"beacon": "again"}, http.StatusConflict)

	// Locked and assigned to the two counties; each county matches.
	eventually("the lock", func() bool {
		return call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["state"] == "locked"
	})
	// The drawn list is public (一公开).
	if drawn, _ := call("GET", "/public/batches/"+id+"/drawn", "", nil, http.StatusOK)["items"].([]any); len(drawn) == 0 {
		t.Error("the public drawn list is empty")
	}
	// The progress read from the database names the workflow's phases.
	phases := func() (string, bool, []string) {
		p := call("GET", "/api/v1/batches/"+id+"/progress", coordinator, nil, http.StatusOK)
		total := p["total"].(map[string]any)
		var counties []string
		for _, c := range p["counties"].([]any) {
			counties = append(counties, c.(map[string]any)["phase"].(string))
		}
		if p["phase"] != total["phase"] {
			t.Errorf("progress phase %v, total phase %v", p["phase"], total["phase"])
		}
		return p["phase"].(string), total["done"].(bool), counties
	}
	if phase, done, counties := phases(); phase != "counties" || done || strings.Join(counties, ",") != "awaiting_match,awaiting_match" {
		t.Errorf("progress after the lock: phase %q, done %v, counties %v", phase, done, counties)
	}
	call("POST", "/api/v1/batches/"+id+"/counties/330402/match", officers["330411"], nil, http.StatusForbidden)
	// As if locked 20 days ago: one inspection below took place before
	// today, and none may be dated before the lock.
	if _, err := db.ExecContext(ctx, `UPDATE batches SET locked_at = locked_at - interval '20 days' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for county, tok := range officers {
		// The county's workflow starts right after the lock: 409 until then.
		eventually("county "+county+" to take its match", func() bool {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/batches/"+id+"/counties/"+county+"/match", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
				t.Fatalf("match %s: %d", county, resp.StatusCode)
			}
			return resp.StatusCode == http.StatusOK
		})
	}
	var tasks []map[string]any
	eventually("four assigned tasks", func() bool {
		items, _ := call("GET", "/api/v1/batches/"+id+"/tasks?stage=assigned", coordinator, nil, http.StatusOK)["items"].([]any)
		tasks = tasks[:0]
		for _, it := range items {
			tasks = append(tasks, it.(map[string]any))
		}
		return len(tasks) == 4
	})

	// (Progress may be served from its one-second cache.)
	eventually("the counties tracking in the progress", func() bool {
		phase, done, counties := phases()
		return phase == "counties" && !done && strings.Join(counties, ",") == "tracking,tracking"
	})

	checkReplacement(t, base, call, id, tasks[2], coordinator, token(auth.Auditor, ""), officers)

	// Inspections: three today, one two weeks ago whose result is left late;
	// of those of today, one waits for its reminder before its result.
	late, reminded := tasks[0], tasks[1]
	for _, task := range tasks {
		key, county := task["object_key"].(string), task["county"].(string)
		path := "/api/v1/batches/" + id + "/tasks/" + key
		on := today.String()
		if task["object_key"] == late["object_key"] {
			on = today.AddDays(-14).String()
		}
		call("POST", path+"/result", officers[county], map[string]any{"result_code": "no_problem", "method": "on_site"}, http.StatusConflict)
		call("POST", path+"/inspected", officers[county], map[string]any{"completed_on": today.AddDays(-30).String()}, http.StatusBadRequest)
		call("POST", path+"/inspected", officers[county], map[string]any{"completed_on": on}, http.StatusOK)
		if task["object_key"] != late["object_key"] && task["object_key"] != reminded["object_key"] {
			call("POST", path+"/result", officers[county], map[string]any{"result_code": "no_problem", "method": "on_site"}, http.StatusOK)
			call("POST", path+"/review", officers[county], map[string]any{"approve": true}, http.StatusOK)
		}
	}
	// A reminder falls on a working day: on a weekend or holiday the one of
	// today's inspection lies in the past and is rightly not sent.
	working, err := workday.NewStore(db).Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remindToday, _ := working.IsWorkingDay(today)
	if remindToday {
		eventually("the reminder", func() bool { return inbox.kinds()["reminder:county_officer"] >= 1 })
	} else {
		t.Logf("%s is not a working day: no reminder is due today", today)
	}
	for _, task := range []map[string]any{reminded} {
		path := "/api/v1/batches/" + id + "/tasks/" + task["object_key"].(string)
		tok := officers[task["county"].(string)]
		// ZR-01 is checked on site or in writing, never by online monitoring;
		// codes and methods may be written in Chinese and are stored as codes.
		if p := call("POST", path+"/result", tok, map[string]any{"result_code": "未发现问题", "method": "网络监测"}, http.StatusBadRequest); !strings.Contains(fmt.Sprint(p["errors"]), "is not a method of item ZR-01") {
			t.Errorf("an online result on ZR-01: %v", p)
		}
		call("POST", path+"/result", tok, map[string]any{"result_code": "未发现问题", "method": "实地检查"}, http.StatusOK)
		call("POST", path+"/review", tok, map[string]any{"approve": true}, http.StatusOK)
	}
	eventually("the escalation of the late result", func() bool {
		k := inbox.kinds()
		return k["escalation:county_head"] >= 1 && k["escalation:city_coordinator"] >= 1
	})
	checkInbox(t, call, id, coordinator, officers)
	// The assignment reached each county's DingTalk group at once; the
	// reminders wait for the digest.
	for _, county := range []string{"330402", "330411"} {
		eventually("the assignment in "+county+"'s DingTalk group", func() bool { return robotTitles(county)["双随机抽查任务已分配"] == 1 })
		if n := robotTitles(county)["双随机抽查期限提醒"]; n != 0 {
			t.Errorf("%d reminders sent to %s's digest contact", n, county)
		}
	}
	// The day's digest as the schedule starts it at DIGEST_TIME, twice: the
	// late object's county reads it, once, on a working day.
	lateCounty := late["county"].(string)
	digestTitle := func() (string, int) {
		for title, n := range robotTitles(lateCounty) {
			if strings.HasPrefix(title, "双随机抽查每日待办") {
				return title, n
			}
		}
		return "", 0
	}
	runDigest(t, ctx, tAddr, 1)
	runDigest(t, ctx, tAddr, 2)
	if title, n := digestTitle(); remindToday && (n != 1 || !strings.Contains(title, "已逾期 1 项")) {
		t.Errorf("digest of %s: %d messages %q, want one with the overdue result", lateCounty, n, title)
	} else if !remindToday && n != 0 {
		t.Errorf("a digest on %s, not a working day", today)
	}
	for _, msg := range robots.Messages() {
		if strings.HasPrefix(msg.Title, "双随机抽查每日待办") && (!strings.Contains(msg.Text, "/counties/"+lateCounty) || !strings.Contains(msg.Text, late["object_name"].(string))) {
			t.Errorf("digest text lacks the county page or the late object:\n%s", msg.Text)
		}
	}

	ledger := call("GET", "/api/v1/accountability?batch="+id, coordinator, nil, http.StatusOK)["items"].([]any)
	if len(ledger) != 1 || ledger[0].(map[string]any)["duty"] != "result_entry" || ledger[0].(map[string]any)["object_key"] != late["object_key"] {
		t.Fatalf("accountability ledger = %v", ledger)
	}
	progress := call("GET", "/api/v1/batches/"+id+"/progress", coordinator, nil, http.StatusOK)
	if progress["total"].(map[string]any)["overdue"].(map[string]any)["result_entry"] != float64(1) {
		t.Errorf("progress does not show the overdue result: %v", progress["total"])
	}

	// The late result, then the batch closes: summary and archive.
	path := "/api/v1/batches/" + id + "/tasks/" + late["object_key"].(string)
	tok := officers[late["county"].(string)]
	call("POST", path+"/result", tok, map[string]any{"result_code": "unknown_code", "method": "on_site"}, http.StatusBadRequest)
	call("POST", path+"/result", tok, map[string]any{"result_code": "no_problem", "method": "on_site"}, http.StatusOK)
	call("POST", path+"/review", tok, map[string]any{"approve": true}, http.StatusOK)
	eventually("the archive", func() bool {
		return call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["state"] == "archived"
	})
	summary := call("GET", "/public/batches/"+id+"/summary", "", nil, http.StatusOK)
	if len(summary["counties"].([]any)) != 2 {
		t.Errorf("summary = %v", summary)
	}
	manifest := call("GET", "/api/v1/batches/"+id+"/archive", coordinator, nil, http.StatusOK)
	if len(manifest["files"].([]any)) < 8 {
		t.Errorf("archive manifest = %v", manifest)
	}
	eventually("the archived batch done in the progress", func() bool {
		phase, done, counties := phases()
		return phase == "archived" && done && strings.Join(counties, ",") == "done,done"
	})
	checkArchive(t, base+"/api/v1/batches/"+id+"/archive", coordinator, dbURL, id)
	// The progress counters, moved by every write of the whole batch, equal a recount.
	if err := stats.NewService(db).CheckCounters(ctx, id); err != nil {
		t.Error(err)
	}
	final := call("GET", "/api/v1/batches/"+id+"/progress?source=workflow", coordinator, nil, http.StatusOK)
	if final["phase"] != "archived" || final["total"].(map[string]any)["stages"].(map[string]any)["closed"] != float64(4) {
		t.Errorf("workflow progress = %v", final)
	}
	ledger = call("GET", "/api/v1/accountability?batch="+id, coordinator, nil, http.StatusOK)["items"].([]any)
	if ledger[0].(map[string]any)["working_days_late"] == nil {
		t.Errorf("the late entry was not resolved: %v", ledger[0])
	}
	k := inbox.kinds()
	if (remindToday && k["reminder:county_officer"] < 1) || k["assigned:county_officer"] != 2 || inbox.bad != 0 {
		t.Errorf("webhook deliveries = %v (bad signatures %d)", k, inbox.bad)
	}
	logHistoryLengths(t, tAddr, id, []string{"330402", "330411"}, tasks)
	if tag := os.Getenv("SPOTCHECK_SAVE_HISTORIES"); tag != "" {
		saveHistories(t, tAddr, id, late["object_key"].(string), late["county"].(string), tag)
	}
}

// checkReplacement replaces an inspector of task's team as its county
// officer would (sick): the next inspector of the published match order
// joins, the round's proof recomputes with the CLI, and the replaced one is
// off the team for good.
func checkReplacement(t *testing.T, base string, call func(method, path, tok string, body any, want int) map[string]any,
	id string, task map[string]any, coordinator, auditor string, officers map[string]string) {
	t.Helper()
	key, county := task["object_key"].(string), task["county"].(string)
	other := "330402"
	if county == other {
		other = "330411"
	}
	path := "/api/v1/batches/" + id + "/tasks/" + key + "/replacements"
	sick := task["inspectors"].([]any)[0].(string)
	call("POST", path, officers[county], map[string]any{"inspector_key": sick}, http.StatusBadRequest)
	call("POST", path, officers[county], map[string]any{"inspector_key": "NOT-ON-TEAM", "reason": "因病"}, http.StatusBadRequest)
	call("POST", path, officers[other], map[string]any{"inspector_key": sick, "reason": "因病"}, http.StatusNotFound)
	call("POST", path, coordinator, map[string]any{"inspector_key": sick, "reason": "因病"}, http.StatusForbidden)
	got := call("POST", path, officers[county], map[string]any{"inspector_key": sick, "reason": "因病无法参加检查"}, http.StatusCreated)
	rep := got["replacement"].(map[string]any)
	team := fmt.Sprint(got["task"].(map[string]any)["inspectors"])
	if rep["replaced"] != sick || rep["round"] != float64(2) || strings.Contains(team, sick) || !strings.Contains(team, rep["replacement"].(string)) {
		t.Fatalf("replacement of %s on %s: %v", sick, key, got)
	}
	// The replaced inspector is off the team: replacing them again is refused.
	call("POST", path, officers[county], map[string]any{"inspector_key": sick, "reason": "因病无法参加检查"}, http.StatusBadRequest)
	var out bytes.Buffer
	proof := base + "/api/v1/batches/" + id + "/counties/" + county + "/match-proof?object=" + key + "&round=2"
	if err := run(context.Background(), []string{"verify-match", "--proof", proof, "--token", coordinator}, &out, io.Discard); err != nil ||
		!strings.HasPrefix(out.String(), "MATCH") {
		t.Errorf("verify-match of the replacement: %v\n%s", err, out.String())
	}
	audit := call("GET", "/api/v1/audit?action=match.replace", auditor, nil, http.StatusOK)
	if !strings.Contains(fmt.Sprint(audit["items"]), key) {
		t.Errorf("no match.replace audit entry for %s: %v", key, audit["items"])
	}
}

// checkInbox reads what was sent as the coordinator and as each county:
// the escalation is listed with its delivery, newest first, page by page,
// and a county sees only its own.
func checkInbox(t *testing.T, call func(method, path, tok string, body any, want int) map[string]any, id, coordinator string, officers map[string]string) {
	t.Helper()
	var all []map[string]any
	for path := "/api/v1/notifications?limit=2&batch=" + id; ; {
		page := call("GET", path, coordinator, nil, http.StatusOK)
		for _, it := range page["items"].([]any) {
			all = append(all, it.(map[string]any))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/api/v1/notifications?limit=2&batch=" + id + "&cursor=" + next
	}
	seen, escalated := map[string]bool{}, false
	for i, n := range all {
		if seen[n["id"].(string)] {
			t.Errorf("notification %s listed twice", n["id"])
		}
		seen[n["id"].(string)] = true
		at := func(n map[string]any) time.Time {
			v, _ := time.Parse(time.RFC3339Nano, n["created_at"].(string))
			return v
		}
		if i > 0 && at(n).After(at(all[i-1])) {
			t.Errorf("the inbox is not newest first at %d", i)
		}
		if n["kind"] == "escalation" && n["role"] == "county_head" && n["delivered"] == true {
			for _, d := range n["deliveries"].([]any) {
				escalated = escalated || d.(map[string]any)["channel"] == "webhook" && d.(map[string]any)["status"] == "delivered"
			}
		}
	}
	if len(all) < 3 || !escalated {
		t.Errorf("the inbox of batch %s has %d notifications, escalation delivered by webhook: %v", id, len(all), escalated)
	}
	for county, tok := range officers {
		for _, it := range call("GET", "/api/v1/notifications?batch="+id, tok, nil, http.StatusOK)["items"].([]any) {
			n := it.(map[string]any)
			if n["region_code"] != county && n["payload"].(map[string]any)["county"] != county {
				t.Errorf("county %s sees notification %s of %s", county, n["id"], n["region_code"])
			}
		}
		other := "330402"
		if county == other {
			other = "330411"
		}
		call("GET", "/api/v1/notifications?county="+other, tok, nil, http.StatusForbidden)
	}
	call("GET", "/api/v1/notifications?role=mayor", coordinator, nil, http.StatusBadRequest)
	call("GET", "/api/v1/notifications?cursor=bm9wZQ", coordinator, nil, http.StatusBadRequest)
}

// checkArchive recomputes a sealed archive with the CLI, as an auditor
// would: served by the API, then copied out of the database into a folder,
// then with one file edited in that folder.
func checkArchive(t *testing.T, url, token, dbURL, id string) {
	t.Helper()
	ctx := context.Background()
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	want := "OK: archive of batch " + id
	if out, err := cli("archive", "verify", url, "--token", token); err != nil || !strings.HasPrefix(out, want) ||
		!strings.Contains(out, "equal to the published hash") || !strings.Contains(out, "the draw recomputes") {
		t.Errorf("archive verify %s: %v\n%s", url, err, out)
	}
	dir := t.TempDir()
	defer func() {
		if b, _ := os.ReadFile(filepath.Join(dir, "results.csv")); strings.Contains(string(b), "实地检查") || strings.Contains(string(b), "未发现问题") ||
			!strings.Contains(string(b), "no_problem,on_site") {
			t.Errorf("results are not stored as codes:\n%s", b)
		}
	}()
	if out, err := cli("archive", "export", "--batch", id, "--dir", dir, "--database-url", dbURL); err != nil {
		t.Fatalf("archive export: %v\n%s", err, out)
	}
	if out, err := cli("archive", "verify", dir); err != nil || !strings.HasPrefix(out, want) {
		t.Errorf("archive verify %s: %v\n%s", dir, err, out)
	}
	results := filepath.Join(dir, "results.csv")
	b, _ := os.ReadFile(results)
	os.WriteFile(results, bytes.Replace(b, []byte("no_problem"), []byte("corrected"), 1), 0o644)
	if out, err := cli("archive", "verify", dir); err == nil || !strings.HasPrefix(out, "MISMATCH: results.csv") {
		t.Errorf("an edited results.csv: %v\n%s", err, out)
	}
}

// runDigest triggers the digest schedule, as DIGEST_TIME does, and waits
// for its n-th run to finish.
func runDigest(t *testing.T, ctx context.Context, addr string, n int) {
	t.Helper()
	tc, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	h := tc.ScheduleClient().GetHandle(ctx, workflows.DigestScheduleID)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if recent := d.Info.RecentActions; len(recent) >= n {
			run := recent[n-1].StartWorkflowResult
			if err := tc.GetWorkflow(ctx, run.WorkflowID, run.FirstExecutionRunID).Get(ctx, nil); err != nil {
				t.Fatalf("digest run %d: %v", n, err)
			}
			return
		}
		if wait.Err() != nil {
			t.Fatalf("the digest schedule did not start run %d", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logHistoryLengths prints the history length of every workflow of the
// batch: the figures behind the README's estimate for large batches.
func logHistoryLengths(t *testing.T, addr, id string, counties []string, tasks []map[string]any) {
	tc, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ids := []string{"batch/" + id}
	for _, c := range counties {
		ids = append(ids, "batch/"+id+"/county/"+c, "batch/"+id+"/county/"+c+"/part/0")
	}
	for _, task := range tasks {
		ids = append(ids, "batch/"+id+"/object/"+task["object_key"].(string))
	}
	for _, wid := range ids {
		d, err := tc.DescribeWorkflowExecution(context.Background(), wid, "")
		if err != nil {
			t.Errorf("describe %s: %v", wid, err)
			continue
		}
		t.Logf("history length %5d  %s", d.WorkflowExecutionInfo.HistoryLength, wid)
	}
}

// saveHistories writes the histories of this run's workflows for the
// replay test of package workflows.
// saveHistories writes the batch's, the late object's county's and the
// late object's histories for workflows' replay test: as batch.json and so
// on for tag "1", as batch-<tag>.json for another tag (the histories of a
// new version, beside those of the old).
func saveHistories(t *testing.T, addr, id, objectKey, county, tag string) {
	tc, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	dir := filepath.Join("..", "..", "workflows", "testdata", "histories")
	for name, wid := range map[string]string{"batch": "batch/" + id, "county": "batch/" + id + "/county/" + county,
		"object-late": "batch/" + id + "/object/" + objectKey} {
		iter := tc.GetWorkflowHistory(context.Background(), wid, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var h historypb.History
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, e)
		}
		out, err := protojson.MarshalOptions{Indent: " "}.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		if tag != "1" {
			name += "-" + tag
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("saved %d events of %s", len(h.Events), wid)
	}
}

func newFlagSetForTest() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
