package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// TestPlanStartsItsBatches: an API caller creates, approves and starts a
// plan with two batches dated 15 and 20 seconds ahead (room for a slow machine to approve first); both start on their own and
// show in the plan's progress; one runs to its archive, and the year's
// statistics count it under the plan's department.
func TestPlanStartsItsBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a plan on a real Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sys := startSystem(t, ctx, "plans", roles{api: true, worker: true})
	if _, err := demo.Seed(ctx, sys.db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	coordinator := sys.token(auth.Coordinator, "")
	officer := sys.token(auth.CountyOfficer, "330483")
	now := time.Now()
	today := workday.DateOf(now)
	id := fmt.Sprintf("PL-%d", now.UnixNano()%1e9)
	at := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	// The inspection period stays in the plan's year, also in December.
	end := today.AddDays(30)
	if end.Year != today.Year {
		end = workday.Date{Year: today.Year, Month: time.December, Day: 31}
	}
	sys.call("POST", "/api/v1/plans", coordinator, map[string]any{
		"id": id, "year": now.Year(), "name": "耕地保护监督处年度抽查计划", "department_code": "GDBH",
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": "ZR-01", "version": 1}},
			"filter":      map[string]any{"regions": []string{"330483"}},
			"strata_keys": []string{"risk"},
			"quotas":      []any{map[string]any{"count": 1}},
			"exclusions":  map[string]any{"window_days": 0},
		},
		"batches":          []any{map[string]any{"draw_at": at(15 * time.Second)}, map[string]any{"draw_at": at(20 * time.Second)}},
		"inspection_start": today.String(), "inspection_end": end.String(),
		"policy": map[string]any{"beacon_wait_minutes": 0, "progress_seconds": 1},
	}, http.StatusCreated)
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
	for _, task := range tasks {
		path := "/api/v1/batches/" + first + "/tasks/" + task["object_key"].(string)
		sys.call("POST", path+"/inspected", officer, map[string]any{"completed_on": today.String()}, http.StatusOK)
		sys.call("POST", path+"/result", officer, map[string]any{"result_code": "no_problem", "method": "written"}, http.StatusOK)
		sys.call("POST", path+"/review", officer, map[string]any{"approve": true}, http.StatusOK)
	}
	sys.eventually("the archive", time.Minute, func() bool { return state() == "archived" })

	stats := sys.call("GET", fmt.Sprintf("/api/v1/statistics?year=%d", now.Year()), coordinator, nil, http.StatusOK)
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
}
