package main

import (
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"context"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// workerProcess is `spotcheck worker` in a child process, so that it can
// be killed with SIGKILL like a crashed server.
type workerProcess struct {
	t   *testing.T
	env []string
	cmd *exec.Cmd
}

func (w *workerProcess) start() {
	w.t.Helper()
	w.cmd = exec.Command(os.Args[0], "worker")
	w.cmd.Env = w.env
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workerProcess) kill() {
	w.t.Helper()
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	w.cmd.Wait()
}

// TestWorkerCrashesChangeNothing runs the same batch twice: once
// undisturbed, once with the worker killed with SIGKILL three times in the
// middle (during the draw, after the match, after the results) and
// restarted. Both end with exactly the same rows.
func TestWorkerCrashesChangeNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two batches on a real Temporal server")
	}
	// It mostly waits for timeouts: beside the cluster test.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sys := startSystem(t, ctx, "crash", roles{api: true})
	if _, err := demo.Seed(ctx, sys.db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{t: t, env: append(os.Environ(), "SPOTCHECK_TEST_RUN_MAIN=1", "LOG_LEVEL=error",
		"DATABASE_URL="+testenv.RuntimeURL(sys.dbURL), "TEMPORAL_ADDRESS="+sys.temporal, "TEMPORAL_TASK_QUEUE=crash")}
	w.start()
	t.Cleanup(func() { w.kill() })
	coordinator := sys.token(auth.Coordinator, "")
	officer := sys.token(auth.CountyOfficer, "330424")

	run := func(id string, crash func(step string)) map[string]string {
		today := workday.DateOf(time.Now())
		sys.call("POST", "/api/v1/batches", coordinator, haiyanBatch(id, "崩溃测试批次",
			map[string]any{"result_entry_days": 1, "reminder_offsets": []int{1}, "reminder_time": "00:00", "progress_seconds": 1}), http.StatusCreated)
		crash("draw")
		state := func() any { return sys.call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["state"] }
		sys.eventually("the freeze", 2*time.Minute, func() bool { return state() == "frozen" })
		sys.beacon(id, coordinator, "witness")
		sys.eventually("the lock", 2*time.Minute, func() bool { return state() == "locked" })
		sys.lockedDaysAgo(id, 20)
		sys.match(id, "330424", officer)
		crash("match")
		var tasks []map[string]any
		sys.eventually("the tasks", 2*time.Minute, func() bool {
			tasks = sys.tasks(id, coordinator, "&stage=assigned")
			return len(tasks) > 1 && len(tasks) == int(sys.call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["drawn_count"].(float64))
		})
		sort.Slice(tasks, func(i, j int) bool { return tasks[i]["object_key"].(string) < tasks[j]["object_key"].(string) })
		for i, task := range tasks {
			path := "/api/v1/batches/" + id + "/tasks/" + task["object_key"].(string)
			on, code := today.String(), "no_problem"
			if i == 0 {
				on = today.AddDays(-14).String() // its result is late
			}
			if i == 1 {
				code = "pending_follow_up"
			}
			sys.call("POST", path+"/inspected", officer, map[string]any{"completed_on": on}, http.StatusOK)
			if i == 0 {
				sys.eventually("the escalation", time.Minute, func() bool {
					overdue, _ := sys.call("GET", path, coordinator, nil, http.StatusOK)["overdue"].([]any)
					return len(overdue) == 1
				})
			}
			sys.call("POST", path+"/result", officer, map[string]any{"result_code": code, "method": "on_site"}, http.StatusOK)
		}
		crash("results")
		for i, task := range tasks {
			path := "/api/v1/batches/" + id + "/tasks/" + task["object_key"].(string)
			sys.call("POST", path+"/review", officer, map[string]any{"approve": true}, http.StatusOK)
			if i == 1 {
				sys.call("POST", path+"/follow-up", officer, map[string]any{"completed_on": today.String(), "actions": []string{"order_correction"}}, http.StatusOK)
			}
		}
		sys.eventually("the archive", 2*time.Minute, func() bool { return state() == "archived" })
		return snapshot(t, sys, id)
	}

	calm := run(testenv.UniqueID("CALM"), func(string) {})
	crashes := 0
	rough := run(testenv.UniqueID("ROUGH"), func(step string) {
		w.kill()
		crashes++
		time.Sleep(300 * time.Millisecond)
		w.start()
	})
	if crashes != 3 {
		t.Fatalf("%d crashes, want 3", crashes)
	}
	for _, table := range []string{"tasks", "results", "follow_ups", "publications", "accountability", "audit", "notifications"} {
		if calm[table] != rough[table] {
			t.Errorf("%s differ after 3 crashes:\nundisturbed:\n%s\ncrashed:\n%s", table, calm[table], rough[table])
		}
	}
	if !strings.Contains(calm["tasks"], "closed") || !strings.Contains(calm["accountability"], "result_entry") {
		t.Errorf("the batch did not run its course:\n%s\n%s", calm["tasks"], calm["accountability"])
	}
}

// snapshot renders a batch's rows without what differs between two runs
// of the same batch (its ID, times, and the randomly matched inspectors).
func snapshot(t *testing.T, sys *liveSystem, id string) map[string]string {
	t.Helper()
	queries := map[string]string{
		"tasks":          `SELECT object_key || ' ' || stage || ' team=' || cardinality(inspectors) || ' overdue=' || array_to_string(overdue, ',') FROM tasks WHERE batch_id = $1`,
		"results":        `SELECT object_key || ' rev ' || revision || ' ' || result_code || ' ' || coalesce(review, '-') FROM results WHERE batch_id = $1`,
		"follow_ups":     `SELECT object_key || ' ' || array_to_string(actions, ',') FROM follow_ups WHERE batch_id = $1`,
		"publications":   `SELECT object_key FROM publications WHERE batch_id = $1`,
		"accountability": `SELECT object_key || ' ' || duty || ' ' || due || ' late=' || coalesce(working_days_late::text, '-') FROM accountability WHERE batch_id = $1`,
		"audit":          `SELECT action || ' ' || count(*) FROM audit_log WHERE entity_id = $1 OR entity_id LIKE $1 || '/%' GROUP BY action`,
		"notifications":  `SELECT kind || ' ' || count(*) FROM notifications WHERE id LIKE '%/' || $1 || '/%' GROUP BY kind`,
	}
	out := map[string]string{}
	for name, q := range queries {
		var rows []string
		if err := sys.db.SelectContext(sys.ctx, &rows, q, id); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sort.Strings(rows)
		out[name] = strings.Join(rows, "\n")
	}
	return out
}
