package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/backend"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// testPlan is the plan of TestPlanStartsItsBatches for a plan made at now:
// two batches drawn 15 and 20 seconds later (room for a slow machine to
// approve first), the plan's year that of the draws in China, and an
// inspection period from the draw day for up to 30 days inside that year.
// ok is false when no such plan exists at now: when the draws fall on 31
// December (a period must end after its draw day and within the plan's
// year) or on both sides of midnight of a New Year's Eve.
func testPlan(now time.Time) (plan map[string]any, year int, ok bool) {
	at := func(d time.Duration) time.Time { return now.Add(d) }
	first, second := workday.DateOf(at(15*time.Second)), workday.DateOf(at(20*time.Second))
	year = first.Year
	end := first.AddDays(30)
	if last := (workday.Date{Year: year, Month: time.December, Day: 31}); end.After(last) {
		end = last
	}
	if second.Year != year || !second.Before(end) {
		return nil, year, false
	}
	rfc := func(d time.Duration) string { return at(d).UTC().Format(time.RFC3339) }
	return map[string]any{
		"year": year, "name": "耕地保护监督处年度抽查计划", "department_code": "GDBH",
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": "ZR-01", "version": 1}},
			"filter":      map[string]any{"regions": []string{"330483"}},
			"strata_keys": []string{"risk"},
			"quotas":      []any{map[string]any{"count": 1}},
			"exclusions":  map[string]any{"window_days": 0},
		},
		"batches":          []any{map[string]any{"draw_at": rfc(15 * time.Second)}, map[string]any{"draw_at": rfc(20 * time.Second)}},
		"inspection_start": first.String(), "inspection_end": end.String(),
		"policy": map[string]any{"beacon_wait_minutes": 0, "progress_seconds": 1},
	}, year, true
}

// TestPlanStartsItsBatches: an API caller creates, approves and starts a
// plan with two batches dated 15 and 20 seconds ahead (testPlan); both
// start on their own and show in the plan's progress; one runs to its
// archive, and the year's statistics count it under the plan's department.
// The batches are drawn by real Temporal timers, so the test runs at the
// real time; TestTestPlanOnFixedDays checks its dates on the days that
// break date arithmetic.
func TestPlanStartsItsBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a plan on a real Temporal server")
	}
	now := time.Now()
	body, year, ok := testPlan(now)
	if !ok {
		t.Skipf("no plan can draw a batch at %s with an inspection period after the draw day and inside its year", now.Add(15*time.Second).UTC().Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sys := startSystem(t, ctx, "plans", roles{api: true, worker: true})
	if _, err := demo.Seed(ctx, sys.db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	coordinator := sys.token(auth.Coordinator, "")
	officer := sys.token(auth.CountyOfficer, "330483")
	today := workday.DateOf(now)
	id := testenv.UniqueID("PL")
	body["id"] = id
	sys.call("POST", "/api/v1/plans", coordinator, body, http.StatusCreated)
	sys.call("POST", "/api/v1/plans/"+id+"/start", coordinator, nil, http.StatusConflict) // a draft does not start
	sys.call("POST", "/api/v1/plans/"+id+"/submit", coordinator, nil, http.StatusOK)
	sys.call("POST", "/api/v1/plans/"+id+"/approve", coordinator, nil, http.StatusOK)
	sys.call("POST", "/api/v1/plans/"+id+"/approve", coordinator, nil, http.StatusConflict)
	sys.call("POST", "/api/v1/plans/"+id+"/start", coordinator, nil, http.StatusAccepted)
	var steps []string
	if err := sys.db.Select(&steps, `SELECT action FROM audit_log WHERE entity = 'plan' AND entity_id = $1 ORDER BY seq`, id); err != nil ||
		strings.Join(steps, ",") != "plan.create,plan.submit,plan.approve" {
		t.Errorf("the plan's audit trail = %v (%v)", steps, err)
	}

	var started []any
	sys.eventually("both planned batches", time.Minute, func() bool {
		started, _ = sys.call("GET", "/api/v1/plans/"+id, coordinator, nil, http.StatusOK)["started_batches"].([]any)
		return len(started) == 2
	})
	progress := sys.call("GET", "/api/v1/plans/"+id+"/progress", coordinator, nil, http.StatusOK)
	t.Logf("plan progress: %v", progress)

	// The first batch runs its course: no beacon wait, county match, entries.
	first := started[0].(map[string]any)["batch_id"].(string)
	state := func() any { return sys.call("GET", "/api/v1/batches/"+first, coordinator, nil, http.StatusOK)["state"] }
	sys.eventually("the lock", time.Minute, func() bool { return state() == "locked" })
	sys.match(first, "330483", officer)
	var tasks []map[string]any
	sys.eventually("the tasks", time.Minute, func() bool {
		tasks = sys.tasks(first, coordinator, "&stage=assigned")
		return len(tasks) > 0 && len(tasks) == int(sys.call("GET", "/api/v1/batches/"+first, coordinator, nil, http.StatusOK)["drawn_count"].(float64))
	})
	for i, task := range tasks {
		path := "/api/v1/batches/" + first + "/tasks/" + task["object_key"].(string)
		sys.call("POST", path+"/inspected", officer, map[string]any{"completed_on": today.String()}, http.StatusOK)
		if i == 0 {
			// The coordinator extends the first result's deadline.
			before := sys.call("GET", path, coordinator, nil, http.StatusOK)["result_due"]
			after := sys.call("POST", path+"/extensions", coordinator, map[string]any{"duty": "result_entry", "working_days": 5, "reason": "检验检测报告尚未出具"}, http.StatusOK)["result_due"]
			if before == nil || after == nil || fmt.Sprint(after) <= fmt.Sprint(before) {
				t.Errorf("the result was due %v, after the extension %v", before, after)
			}
		}
		sys.call("POST", path+"/result", officer, map[string]any{"result_code": "no_problem", "method": "written"}, http.StatusOK)
		sys.call("POST", path+"/review", officer, map[string]any{"approve": true}, http.StatusOK)
	}
	sys.eventually("the archive", time.Minute, func() bool { return state() == "archived" })

	stats := sys.call("GET", fmt.Sprintf("/api/v1/statistics?year=%d", year), coordinator, nil, http.StatusOK)
	found := false
	for _, d := range stats["departments"].([]any) {
		d := d.(map[string]any)
		if d["code"] == "GDBH" && d["drawn"].(float64) >= float64(len(tasks)) && d["inspected"].(float64) >= float64(len(tasks)) {
			found = true
		}
	}
	if !found {
		t.Errorf("the statistics do not count the plan's completed batch under GDBH: %v", stats["departments"])
	}

	// The coordinator steers the running plan: a pause, a resume, an
	// extra batch, and its end.
	plan := "/api/v1/plans/" + id
	if got := sys.call("POST", plan+"/pause", coordinator, map[string]any{"reason": "上级通知暂停"}, http.StatusOK); got["state"] != "paused" {
		t.Errorf("paused: %v", got)
	}
	sys.call("POST", plan+"/pause", coordinator, nil, http.StatusConflict)
	if got := sys.call("POST", plan+"/resume", coordinator, nil, http.StatusOK); got["state"] != "running" {
		t.Errorf("resumed: %v", got)
	}
	if got := sys.call("POST", plan+"/batches", coordinator, map[string]any{"name": "投诉集中"}, http.StatusCreated); got["extra"] != true || got["batch_id"] == "" {
		t.Errorf("the extra batch: %v", got)
	}
	if got := sys.call("POST", plan+"/cancel", coordinator, map[string]any{"reason": "年度计划调整"}, http.StatusOK); got["state"] != "cancelled" {
		t.Errorf("cancelled: %v", got)
	}
}

// TestTestPlanOnFixedDays is the guard of testPlan: at each of
// testenv.FixedDays, the plan it makes is one the API accepts on that day
// (through the server's clock), or there is none only on the day no plan
// can exist (draws on 31 December).
func TestTestPlanOnFixedDays(t *testing.T) {
	ctx := context.Background()
	db := testenv.NewMigratedDB(t)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 120, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	_, key, err := auth.CreateKey(ctx, db, "test", auth.NewKey{Name: "coordinator", Role: auth.Coordinator})
	if err != nil {
		t.Fatal(err)
	}
	noPlan := map[string]bool{"new-year's-eve-23:59": true}
	for _, day := range testenv.FixedDays {
		t.Run(day.Name, func(t *testing.T) {
			body, year, ok := testPlan(day.Now)
			if !ok {
				if !noPlan[day.Name] {
					t.Fatalf("testPlan makes no plan at %s", day.Now)
				}
				return
			}
			if noPlan[day.Name] {
				t.Fatalf("testPlan makes a plan of %d at %s, where none can be valid", year, day.Now)
			}
			body["id"] = testenv.UniqueID("PLDAY")
			h := apicontract.Wrap(t, api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(db, testenv.Clock(day.Now)), Registry: prometheus.NewRegistry(),
				Auth: auth.NewAuthenticator(db, nil)}))
			raw, _ := json.Marshal(body)
			req := httptest.NewRequest("POST", "/api/v1/plans", bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				t.Errorf("the test plan at %s: %d %s", day.Now, rec.Code, rec.Body)
			}
		})
	}
}
