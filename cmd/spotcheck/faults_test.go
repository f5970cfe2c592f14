package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/devtemporal"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/pgcluster"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/migrations"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// TestFaultsChangeNothing runs the same small batch twice on a PostgreSQL
// cluster and a Temporal dev server of its own, with the worker in a child
// process and the API in this one: once undisturbed, once with
// PostgreSQL restarted (`pg_ctl restart -m immediate`) while the batch is
// drawing and again while results are being entered, and the Temporal
// server killed with SIGKILL after the match and started again on its
// database file. Both runs end with exactly the same rows. Both also send a
// result whose notes hold a NUL: the API refuses it with a 400, the same
// entry sent to the workflow directly is refused at once (never retried for
// 30 days), and the task then takes the correct result. (The worker's own
// SIGKILL is TestWorkerCrashesChangeNothing.)
func TestFaultsChangeNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a PostgreSQL cluster and a Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "spotcheck-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The cluster's parent must be enterable by the postgres user.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Database: "spotcheck"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop(30 * time.Second) })
	ownerURL := pg.URL("spotcheck")
	db := sqlx.MustOpen("postgres", ownerURL)
	t.Cleanup(func() { db.Close() })
	if err := migrations.Up(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	ensureCalendar(t, ctx, db)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 120, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}

	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := pgcluster.FreePort()
	ui, _ := pgcluster.FreePort()
	topts := devtemporal.Options{CLI: cli, DBFile: filepath.Join(dir, "temporal.db"), LogFile: filepath.Join(dir, "temporal.log"),
		Port: port, UIPort: ui, Namespace: "default"}
	ts, err := devtemporal.Start(ctx, topts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Stop(10 * time.Second) })

	// The API in this process, the worker in a child, both as the runtime role.
	runtimeURL := pg.RuntimeURL("spotcheck")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Register(newFlagSetForTest())
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue, cfg.APIRateLimit = runtimeURL, ts.Address, "faults", 0
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)), contractChecked(t, roles{api: true}), ln, nil)
	}()
	t.Cleanup(func() { stop(); <-served })
	w := &workerProcess{t: t, env: append(os.Environ(), "SPOTCHECK_TEST_RUN_MAIN=1", "LOG_LEVEL=error",
		"DATABASE_URL="+runtimeURL, "TEMPORAL_ADDRESS="+ts.Address, "TEMPORAL_TASK_QUEUE=faults")}
	w.start()
	t.Cleanup(func() { w.kill() })
	sys := &liveSystem{t: t, ctx: ctx, db: db, dbURL: ownerURL, temporal: ts.Address, queue: "faults", base: "http://" + ln.Addr().String()}
	coordinator := sys.token(auth.Coordinator, "")
	officer := sys.token(auth.CountyOfficer, "330424")
	tc, err := client.Dial(client.Options{HostPort: ts.Address, Logger: quietLog{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)

	// ask is one request that may meet a restart: it reports the status
	// instead of failing the test.
	ask := func(method, path, tok string, body any, hdr ...string) (int, map[string]any) {
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, sys.base+path, r)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		out := map[string]any{}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	// must repeats an entry until it is answered 200: through a restart,
	// the same Idempotency-Key makes the repeats one Update.
	must := func(what, method, path string, body any) map[string]any {
		key := testenv.UniqueID("faults")
		var status int
		var out map[string]any
		sys.eventually(what, 3*time.Minute, func() bool {
			status, out = ask(method, path, officer, body, "Idempotency-Key", key)
			if status != 0 && status != http.StatusOK && status < 500 && status != http.StatusConflict {
				t.Fatalf("%s: %d %v", what, status, out)
			}
			return status == http.StatusOK
		})
		return out
	}
	state := func(id string) any {
		_, b := ask("GET", "/api/v1/batches/"+id, coordinator, nil)
		return b["state"]
	}

	faults, drawnTasks := 0, 0
	run := func(id string, fault func(step string)) map[string]string {
		today := workday.DateOf(time.Now())
		sys.call("POST", "/api/v1/batches", coordinator, haiyanBatch(id, "故障测试批次",
			map[string]any{"result_entry_days": 5, "reminder_offsets": []int{1}, "progress_seconds": 1}), http.StatusCreated)
		sys.eventually("the freeze", 3*time.Minute, func() bool { return state(id) == "frozen" })
		sys.beacon(id, coordinator, "witness")
		fault("draw")
		sys.eventually("the lock", 3*time.Minute, func() bool { return state(id) == "locked" })
		sys.eventually("the match", 3*time.Minute, func() bool {
			status, _ := ask("POST", "/api/v1/batches/"+id+"/counties/330424/match", officer, nil)
			return status == http.StatusOK
		})
		fault("match")
		var tasks []map[string]any
		sys.eventually("the tasks", 3*time.Minute, func() bool {
			status, page := ask("GET", "/api/v1/batches/"+id+"/tasks?stage=assigned", coordinator, nil)
			items, _ := page["items"].([]any)
			tasks = tasks[:0]
			for _, it := range items {
				tasks = append(tasks, it.(map[string]any))
			}
			drawn, _ := sys.call("GET", "/api/v1/batches/"+id, coordinator, nil, http.StatusOK)["drawn_count"].(float64)
			return status == http.StatusOK && len(tasks) > 1 && len(tasks) == int(drawn)
		})
		drawnTasks = len(tasks)
		sort.Slice(tasks, func(i, j int) bool { return tasks[i]["object_key"].(string) < tasks[j]["object_key"].(string) })
		for i, task := range tasks {
			key := task["object_key"].(string)
			path := "/api/v1/batches/" + id + "/tasks/" + key
			must("inspected "+key, "POST", path+"/inspected", map[string]any{"completed_on": today.String()})
			if i == 0 {
				poisoned(t, sys, tc, officer, id, key, path)
			}
			if i == 1 {
				fault("results")
			}
			must("result "+key, "POST", path+"/result", map[string]any{"result_code": "no_problem", "method": "on_site", "notes": "现场检查"})
		}
		for _, task := range tasks {
			must("review", "POST", "/api/v1/batches/"+id+"/tasks/"+task["object_key"].(string)+"/review", map[string]any{"approve": true})
		}
		sys.eventually("the archive", 4*time.Minute, func() bool { return state(id) == "archived" })
		return snapshot(t, sys, id)
	}

	calm := run(testenv.UniqueID("CALM"), func(string) {})
	rough := run(testenv.UniqueID("ROUGH"), func(step string) {
		switch step {
		case "draw", "results":
			// While the draw (or the entries) are under way.
			if err := pg.RestartImmediate(ctx); err != nil {
				t.Fatal(err)
			}
		case "match":
			ts.Kill()
			var err error
			if ts, err = devtemporal.Start(ctx, topts); err != nil {
				t.Fatalf("restart Temporal on %s: %v", topts.DBFile, err)
			}
		}
		faults++
	})
	if faults != 3 {
		t.Fatalf("%d faults, want 3", faults)
	}
	t.Logf("%d faults (PostgreSQL restarted while drawing and while entering results, Temporal SIGKILLed after the match) on a batch of %d objects", faults, drawnTasks)
	for _, table := range []string{"tasks", "results", "follow_ups", "publications", "accountability", "audit", "notifications"} {
		if calm[table] != rough[table] {
			t.Errorf("%s differ after the faults:\nundisturbed:\n%s\ndisturbed:\n%s", table, calm[table], rough[table])
		}
	}
	if !strings.Contains(calm["tasks"], "closed") || strings.Count(calm["publications"], "\n")+1 != drawnTasks {
		t.Errorf("the batch did not run its course:\n%s\n%s", calm["tasks"], calm["publications"])
	}
	// The heads are published: the day's (the schedule runs once when it
	// is created) and each archive's, which its manifest names too; the
	// chain passes through them all, and the public rows match it.
	var reasons []string
	sys.eventually("the daily head", time.Minute, func() bool {
		reasons = reasons[:0]
		page := sys.call("GET", "/public/audit/heads", "", nil, http.StatusOK)
		items, _ := page["items"].([]any)
		for _, it := range items {
			reasons = append(reasons, it.(map[string]any)["reason"].(string))
		}
		return strings.Contains(strings.Join(reasons, ","), "daily")
	})
	if strings.Count(strings.Join(reasons, ","), "archive") != 2 {
		t.Errorf("published heads %v, want one per archive", reasons)
	}
	var manifest string
	if err := db.GetContext(ctx, &manifest, `SELECT manifest FROM batch_archives ORDER BY sealed_at DESC LIMIT 1`); err != nil || !strings.Contains(manifest, `"audit_head"`) {
		t.Errorf("the archive's manifest does not name the audit head: %v %s", err, manifest)
	}
	out, _, err := runCLI("audit", "verify", "--heads", sys.base+"/public/audit/heads?format=csv", "--database-url", ownerURL)
	if err != nil || !strings.Contains(out, "OK: the chain passes through all") || !strings.Contains(out, fmt.Sprintf("OK: %d results and publications match", 4*drawnTasks)) {
		t.Errorf("audit verify: %v %q", err, out)
	}
	if _, err := db.ExecContext(ctx, `UPDATE results SET result_code = 'problem_found' WHERE audit_hash IS NOT NULL AND object_key = (SELECT min(object_key) FROM results)`); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI("audit", "verify", "--database-url", ownerURL); err == nil || !strings.Contains(out, "MISMATCH: results") {
		t.Errorf("an edited result is not noticed: %v %q", err, out)
	}
}

// poisoned sends a result whose notes hold a NUL: the API refuses it (400),
// and the workflow, sent it directly, refuses it at once as a bad entry;
// the task is left ready for the correct result.
func poisoned(t *testing.T, sys *liveSystem, tc client.Client, officer, batchID, key, path string) {
	t.Helper()
	sys.call("POST", path+"/result", officer, map[string]any{"result_code": "no_problem", "method": "on_site", "notes": "a\u0000b"}, http.StatusBadRequest)
	ctx, cancel := context.WithTimeout(sys.ctx, 90*time.Second)
	defer cancel()
	start := time.Now()
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ObjectWorkflowID(batchID, key), UpdateName: workflows.UpdateResult, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{inspection.Result{Code: "no_problem", Method: "on_site", Notes: "a\x00b", EnteredBy: inspection.Actor{Role: "county_officer", County: "330424", Name: "test"}}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	// The validator refuses it; were it to slip through, the worker's
	// interceptor (activities.PermanentErrors) would refuse SQLSTATE 22021
	// as quickly instead of retrying it.
	f, ok := activities.AsFault(err)
	if !ok || f.Kind != fault.Invalid || !strings.Contains(f.Error(), "notes") {
		t.Fatalf("a NUL in the notes sent to the workflow: %v, want an Invalid fault naming notes", err)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the poisoned entry took %s to be refused", d)
	}
}

type quietLog struct{}

func (quietLog) Debug(string, ...any) {}
func (quietLog) Info(string, ...any)  {}
func (quietLog) Warn(string, ...any)  {}
func (quietLog) Error(string, ...any) {}
