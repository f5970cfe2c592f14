package main

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// jiaxing lists the nine county-level units a city batch is assigned to.
var jiaxing = []string{"330402", "330411", "330421", "330424", "330481", "330482", "330483", "JXJK", "JXGQ"}

// clusterSystem is the production topology on one machine: a Temporal
// server on PostgreSQL, `spotcheck worker` and `spotcheck api` processes,
// and the keys of the people who use them.
type clusterSystem struct {
	t           testing.TB
	ctx         context.Context
	db          *sqlx.DB
	temporal    *temporalCluster
	workers     []*proc
	workerURLs  []string // their /metrics
	apis        []*proc
	client      *apiClient
	coordinator string
	officers    map[string]string
}

// startCluster seeds objects into a fresh database and starts the workers
// and the APIs on the Temporal frontend at temporal: the cluster of
// deploy/temporal (startTemporalCluster) or the dev server. The same seed
// gives every fresh database the same objects.
func startCluster(t testing.TB, ctx context.Context, objects int, temporal string, workers, apis int) *clusterSystem {
	t.Helper()
	s := &clusterSystem{t: t, ctx: ctx, officers: map[string]string{}}
	dbURL, db := freshDB(t, ctx)
	s.db = db
	ensureCalendar(t, ctx, db)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: objects, Inspectors: 150}); err != nil {
		t.Fatal(err)
	}
	// The demo's inspectors take 20–40 open tasks each: enough for the
	// demo's batches, not for every land-reclamation project of the city at
	// once. A city that draws this many raises its caps the same way.
	if _, err := db.ExecContext(ctx, `UPDATE inspectors SET max_load = 400`); err != nil {
		t.Fatal(err)
	}
	contacts := notify.NewStore(db)
	for _, c := range jiaxing {
		if _, err := contacts.AddContact(ctx, notify.NewContact{RegionCode: c, Role: "county_officer", Name: "集群测试 " + c, Channel: "log"}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	queue := testenv.UniqueID("cluster")
	for i := range workers {
		port := strconv.Itoa(loopbackPort(t))
		// The first worker runs with its own limits, to show the settings
		// reach the SDK (its slots and pollers are in its metrics).
		extra := []string{"WORKER_HTTP_ADDR=127.0.0.1:" + port}
		if i == 0 {
			extra = append(extra, "WORKER_ACTIVITY_CONCURRENCY=64", "WORKER_LOCAL_ACTIVITY_CONCURRENCY=128", "WORKER_WORKFLOW_POLLERS=4", "WORKER_STICKY_CACHE_SIZE=4000")
		}
		w := newProc(t, "worker-"+strconv.Itoa(i+1), os.Args[0], roleEnv(dbURL, temporal, queue, extra...), "worker")
		w.start()
		s.workers = append(s.workers, w)
		s.workerURLs = append(s.workerURLs, "http://127.0.0.1:"+port)
	}
	var bases []string
	for i := range apis {
		port := strconv.Itoa(loopbackPort(t))
		a := newProc(t, "api-"+strconv.Itoa(i+1), os.Args[0], roleEnv(dbURL, temporal, queue, "HTTP_ADDR=127.0.0.1:"+port), "api")
		a.start()
		s.apis = append(s.apis, a)
		bases = append(bases, "http://127.0.0.1:"+port)
	}
	for i, w := range s.workers {
		awaitHTTP(t, w, s.workerURLs[i]+"/readyz")
	}
	for i, a := range s.apis {
		awaitHTTP(t, a, bases[i]+"/readyz")
	}
	s.client = newAPIClient(bases...)
	s.coordinator = s.key(auth.Coordinator, "")
	for _, c := range jiaxing {
		s.officers[c] = s.key(auth.CountyOfficer, c)
	}
	return s
}

func (s *clusterSystem) key(role auth.Role, county string) string {
	s.t.Helper()
	_, tok, err := auth.CreateKey(s.ctx, s.db, "test", auth.NewKey{Name: "cluster " + string(role) + county, Role: role, County: county})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// activities is how many activities the worker has run in its current
// life, from its metrics.
func (s *clusterSystem) activities(i int) float64 {
	n, err := metricSum(s.workerURLs[i]+"/metrics", "temporal_activity_execution_latency_seconds_count")
	if err != nil {
		s.t.Errorf("metrics of worker %d: %v", i+1, err)
	}
	return n
}

// batchHooks disturb a run: after the matches are sent (the counties'
// objects start their tracking), and when a share of the entries is
// acknowledged (called once per threshold, off the entry goroutines).
type batchHooks struct {
	afterMatch func()
	during     map[float64]func()
}

// batchRun is what one batch did: its figures and every acknowledged entry.
type batchRun struct {
	drawn int
	// draw → every county notified, and → every object's tracking started.
	notified, tracking time.Duration
	acked              map[string][]string // step → object keys
	entries, retries   int
	took               time.Duration
}

// runBatch draws a batch of every ZR-01 object in regions (ratio 1), has every county match, enters every object's inspection,
// result and review (a follow-up for every 50th), alternating the APIs,
// and waits for the archive. entries=false stops once every object is
// tracked (for the benchmarks of the draw).
func (s *clusterSystem) runBatch(id string, regions []string, entries bool, hooks batchHooks) batchRun {
	s.t.Helper()
	began := time.Now()
	today := workday.DateOf(time.Now())
	run := batchRun{acked: map[string][]string{}}
	c, ctx := s.client, s.ctx
	must := func(out map[string]any, err error) map[string]any {
		s.t.Helper()
		if err != nil {
			s.t.Fatal(err)
		}
		return out
	}
	must(c.do(ctx, "POST", "/api/v1/batches", s.coordinator, "create/"+id, map[string]any{
		"id": id, "name": "集群测试批次",
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": "ZR-01", "version": 1}},
			"filter":      map[string]any{"regions": regions},
			"strata_keys": []string{"region"},
			"quotas":      []any{map[string]any{"ratio": "1"}},
			"exclusions":  map[string]any{"window_days": 0},
		},
		"inspection_end": today.AddDays(60).String(),
		"policy":         map[string]any{"progress_seconds": 1},
	}))
	state := func() string {
		s.t.Helper()
		st, _ := must(c.do(ctx, "GET", "/api/v1/batches/"+id, s.coordinator, "", nil))["state"].(string)
		return st
	}
	s.await("the freeze of "+id, 2*time.Minute, func() bool { return state() == "frozen" })
	drawAt := time.Now()
	must(c.do(ctx, "POST", "/api/v1/batches/"+id+"/beacon", s.coordinator, "beacon/"+id, map[string]any{"beacon": "cluster"}))
	s.await("the lock of "+id, 2*time.Minute, func() bool { return state() == "locked" })
	// Task rows appear as the counties' workflows record them; the batch
	// knows how many it drew.
	drawn, _ := must(c.do(ctx, "GET", "/api/v1/batches/"+id, s.coordinator, "", nil))["drawn_count"].(float64)
	run.drawn = int(drawn)
	// Every county matches as soon as it is told (a 409 until its workflow
	// takes matches is retried by the client).
	var wg sync.WaitGroup
	errs := make(chan error, len(regions))
	for _, county := range regions {
		wg.Go(func() {
			_, err := c.do(ctx, "POST", "/api/v1/batches/"+id+"/counties/"+county+"/match", s.officers[county], "match/"+id+"/"+county, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	if hooks.afterMatch != nil {
		hooks.afterMatch()
	}
	var counties int
	s.await("every county told of "+id, 3*time.Minute, func() bool {
		s.get(&counties, `SELECT count(*) FROM notifications WHERE id LIKE 'batch-assigned/' || $1::text || '/%'`, id)
		return counties == len(regions)
	})
	var notifiedAt time.Time
	s.get(&notifiedAt, `SELECT max(created_at) FROM notifications WHERE id LIKE 'batch-assigned/' || $1::text || '/%'`, id)
	var tracked int
	s.await("every object of "+id+" tracked", 8*time.Minute, func() bool {
		s.get(&tracked, `SELECT count(*) FROM tasks WHERE batch_id = $1 AND stage NOT IN ('drawn', 'awaiting_match')`, id)
		return tracked == run.drawn
	})
	var trackedAt time.Time
	s.get(&trackedAt, `SELECT max(updated_at) FROM tasks WHERE batch_id = $1`, id)
	run.notified, run.tracking = notifiedAt.Sub(drawAt), trackedAt.Sub(drawAt)
	if !entries {
		run.took = time.Since(began)
		return run
	}

	var objects []struct {
		Key    string `db:"object_key"`
		County string `db:"county_code"`
	}
	if err := s.db.SelectContext(ctx, &objects, `SELECT object_key, county_code FROM tasks WHERE batch_id = $1 ORDER BY object_key`, id); err != nil {
		s.t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		done     atomic.Int64
		failures []error
	)
	thresholds := make([]float64, 0, len(hooks.during))
	for f := range hooks.during {
		thresholds = append(thresholds, f)
	}
	sort.Float64s(thresholds)
	var fired sync.WaitGroup
	var next atomic.Int64 // index of the next threshold to fire
	total := 0            // entries to send, set below
	ack := func(step, key string) {
		mu.Lock()
		run.acked[step] = append(run.acked[step], key)
		mu.Unlock()
		n := done.Add(1)
		for {
			i := next.Load()
			if int(i) >= len(thresholds) || float64(n) < thresholds[i]*float64(total) {
				return
			}
			if next.CompareAndSwap(i, i+1) {
				fired.Go(hooks.during[thresholds[i]])
			}
		}
	}
	// The entries go in passes, as a county works: every inspection, then
	// every result, every review, every follow-up; sixteen people at once.
	type entry struct {
		key, county, step string
		body              any
	}
	var passes [4][]entry
	for i, o := range objects {
		code := "no_problem"
		if i%50 == 7 {
			code = "pending_follow_up"
		}
		passes[0] = append(passes[0], entry{o.Key, o.County, "inspected", map[string]any{"completed_on": today.String()}})
		passes[1] = append(passes[1], entry{o.Key, o.County, "result", map[string]any{"result_code": code, "method": "on_site"}})
		passes[2] = append(passes[2], entry{o.Key, o.County, "review", map[string]any{"approve": true}})
		if code == "pending_follow_up" {
			passes[3] = append(passes[3], entry{o.Key, o.County, "follow-up", map[string]any{"completed_on": today.String(), "actions": []string{"order_correction"}}})
		}
	}
	total = 0
	for _, p := range passes {
		total += len(p)
	}
	var pool sync.WaitGroup
	for _, pass := range passes {
		jobs := make(chan entry)
		for range 16 {
			pool.Go(func() {
				for e := range jobs {
					path := "/api/v1/batches/" + id + "/tasks/" + e.key + "/" + e.step
					if _, err := c.do(ctx, "POST", path, s.officers[e.county], id+"/"+e.key+"/"+e.step, e.body); err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
						continue
					}
					ack(e.step, e.key)
				}
			})
		}
		for _, e := range pass {
			jobs <- e
		}
		close(jobs)
		pool.Wait()
	}
	pool.Wait()
	fired.Wait()
	for _, err := range failures {
		s.t.Error(err)
	}
	if len(failures) > 0 {
		s.t.FailNow()
	}
	stuck := time.After(5 * time.Minute)
	for state() != "archived" {
		select {
		case <-stuck:
			// Where each county's workflow stands says which one is stuck.
			p, err := c.do(ctx, "GET", "/api/v1/batches/"+id+"/progress?source=workflow", s.coordinator, "", nil)
			s.t.Fatalf("timed out after 5m0s waiting for the archive of %s; the workflows' progress: %v %v", id, p, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	run.entries, run.retries, run.took = int(done.Load()), c.retries, time.Since(began)
	return run
}

func (s *clusterSystem) get(dest any, q string, args ...any) {
	s.t.Helper()
	if err := s.db.GetContext(s.ctx, dest, q, args...); err != nil {
		s.t.Fatal(err)
	}
}

func (s *clusterSystem) await(what string, limit time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestClusterSurvivesLosingAnyOne runs the production topology — the
// Temporal server of deploy/temporal on PostgreSQL, two `spotcheck worker`
// and two `spotcheck api` processes — through a batch of every
// land-reclamation project of the nine counties (clusterBatchSize), during
// which a worker is killed with SIGKILL and started again, the Temporal
// server is restarted and an API process is killed. Every entry an API
// acknowledged is in the database; both workers ran activities.
//
// Its rows must be exactly those of an undisturbed run. Object workflows do
// not depend on each other, so the undisturbed run that gives them is the
// same batch for one county (嘉兴港区, 4% of the objects, run at the same time on
// the dev server with one worker and one API): every object of the big
// batch must have exactly the rows of the undisturbed object of its kind
// (task, result, review, publication, follow-up, accountability, audit
// entries, notifications), every county those of the undisturbed county,
// the batch those of the undisturbed batch. A write lost or repeated by a
// crash shows as one object, county or batch that differs. (A second full
// batch would double the test's time.)
func TestClusterSurvivesLosingAnyOne(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a batch on a Temporal cluster")
	}
	// Beside the other long tests that mostly wait (crashes, the demo
	// scripts): on 2 cores the package's time is this test's.
	t.Parallel()
	size := clusterBatchSize(t)
	// About 21% of the demo's objects are land-reclamation projects.
	objects := size * 100 / 21
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute+time.Duration(size)*600*time.Millisecond)
	defer cancel()
	devServer := testenv.TemporalAddress(t)
	var calm, rough batchShape
	var calmRun, roughRun batchRun
	t.Run("batches", func(t *testing.T) {
		t.Run("undisturbed", func(t *testing.T) {
			t.Parallel()
			s := startCluster(t, ctx, objects, devServer, 1, 1)
			id := testenv.UniqueID("CALM")
			calmRun = s.runBatch(id, []string{"JXGQ"}, true, batchHooks{})
			calm = shapeOf(t, ctx, s.db, id)
			t.Logf("undisturbed (dev server, 嘉兴港区): %d objects, %d entries in %s", calmRun.drawn, calmRun.entries, calmRun.took.Round(time.Second))
		})
		t.Run("disturbed", func(t *testing.T) {
			t.Parallel()
			roughRun, rough = disturbedRun(t, ctx, objects)
		})
	})
	if t.Failed() {
		return
	}
	if roughRun.drawn < size*9/10 {
		t.Fatalf("the batch drew %d objects, want about %d", roughRun.drawn, size)
	}
	kinds := map[string]bool{}
	for _, sh := range calm.objects {
		kinds[sh] = true
	}
	if len(kinds) != 2 {
		t.Fatalf("the undisturbed objects have %d kinds of rows, want 2 (with and without a follow-up):\n%s", len(kinds), strings.Join(keys(kinds), "\n"))
	}
	counts := map[string]int{}
	for key, sh := range rough.objects {
		if !kinds[sh] {
			t.Errorf("object %s has rows no undisturbed object has:\n%s\nundisturbed:\n%s", key, sh, strings.Join(keys(kinds), "\n"))
			continue
		}
		counts[sh]++
	}
	if len(rough.objects) != roughRun.drawn {
		t.Errorf("%d objects have rows, %d were drawn", len(rough.objects), roughRun.drawn)
	}
	t.Logf("objects by their rows: %v", counts)
	var want string
	for _, sh := range calm.counties {
		want = sh
	}
	if len(rough.counties) != len(jiaxing) {
		t.Errorf("%d counties have rows, want %d", len(rough.counties), len(jiaxing))
	}
	for c, sh := range rough.counties {
		if sh != want {
			t.Errorf("county %s has rows:\n%s\nundisturbed:\n%s", c, sh, want)
		}
	}
	if rough.batch != calm.batch {
		t.Errorf("the batch has rows:\n%s\nundisturbed:\n%s", rough.batch, calm.batch)
	}
}

// disturbedRun is the cluster half of TestClusterSurvivesLosingAnyOne.
// It returns the batch's rows: its database is dropped when the subtest ends.
func disturbedRun(t *testing.T, ctx context.Context, objects int) (batchRun, batchShape) {
	tc := startTemporalCluster(t, ctx, 4)
	s := startCluster(t, ctx, objects, tc.addr, 2, 2)
	// Activities of each worker, added up over its lives.
	ran := make([]float64, len(s.workers))
	var (
		dmu          sync.Mutex
		disturbances []string
	)
	note := func(what string) {
		dmu.Lock()
		disturbances = append(disturbances, what)
		dmu.Unlock()
	}
	id := testenv.UniqueID("ROUGH")
	run := s.runBatch(id, jiaxing, true, batchHooks{
		afterMatch: func() {
			// The counties' objects are starting their tracking.
			time.Sleep(time.Second)
			ran[0] += s.activities(0)
			s.workers[0].kill()
			note("SIGKILL worker-1 while the objects start")
			time.Sleep(2 * time.Second)
			s.workers[0].start()
			awaitHTTP(t, s.workers[0], s.workerURLs[0]+"/readyz")
		},
		during: map[float64]func(){
			0.3: func() {
				tc.restart(ctx)
				note("restart of the Temporal server at 30% of the entries")
			},
			0.6: func() {
				s.apis[1].kill()
				note("SIGKILL api-2 at 60% of the entries")
			},
		},
	})
	t.Logf("disturbed (cluster): %d objects, %d entries in %s, %d attempts retried; draw → every county notified %s, → every object tracked %s; %s",
		run.drawn, run.entries, run.took.Round(time.Second), run.retries, run.notified.Round(time.Millisecond), run.tracking.Round(time.Millisecond),
		strings.Join(disturbances, "; "))
	t.Logf("attempts retried, by reason: %v", s.client.why)
	if len(disturbances) != 3 {
		t.Fatalf("%d disturbances, want 3: %v", len(disturbances), disturbances)
	}
	var counties []string
	if err := s.db.SelectContext(ctx, &counties, `SELECT DISTINCT county_code FROM tasks WHERE batch_id = $1 ORDER BY 1`, id); err != nil {
		t.Fatal(err)
	}
	if strings.Join(counties, ",") != strings.Join(sortedCopy(jiaxing), ",") {
		t.Errorf("the batch reached counties %v, want all nine", counties)
	}
	for i := range s.workers {
		ran[i] += s.activities(i)
		if ran[i] == 0 {
			t.Errorf("worker-%d ran no activity", i+1)
		}
	}
	t.Logf("activities run: worker-1 %.0f (over 2 lives), worker-2 %.0f", ran[0], ran[1])

	// No acknowledged entry is lost.
	checks := map[string]string{
		"inspected": `SELECT count(*) FROM tasks WHERE batch_id = $1 AND object_key = ANY($2) AND stage = 'closed'`,
		"result":    `SELECT count(*) FROM results WHERE batch_id = $1 AND object_key = ANY($2)`,
		"review":    `SELECT count(*) FROM results WHERE batch_id = $1 AND object_key = ANY($2) AND review = 'approved'`,
		"follow-up": `SELECT count(*) FROM follow_ups WHERE batch_id = $1 AND object_key = ANY($2)`,
	}
	for step, q := range checks {
		keys := run.acked[step]
		var n int
		if err := s.db.GetContext(ctx, &n, q, id, pq.Array(keys)); err != nil {
			t.Fatal(err)
		}
		if n != len(keys) || len(keys) == 0 {
			t.Errorf("%s: %d acknowledged, %d in the database", step, len(keys), n)
		}
	}
	if len(run.acked["inspected"]) != run.drawn {
		t.Errorf("%d inspections acknowledged, %d objects drawn", len(run.acked["inspected"]), run.drawn)
	}
	// The settings reach the SDK: worker-1 runs with its own limits.
	if v, _ := metricSum(s.workerURLs[0]+"/metrics", `spotcheck_worker_setting{setting="activity_concurrency"}`); v != 64 {
		t.Errorf("worker-1 reports activity_concurrency %v, want 64 (WORKER_ACTIVITY_CONCURRENCY)", v)
	}
	if v, _ := metricSum(s.workerURLs[0]+"/metrics", `spotcheck_worker_setting{setting="local_activity_concurrency"}`); v != 128 {
		t.Errorf("worker-1 reports local_activity_concurrency %v, want 128 (WORKER_LOCAL_ACTIVITY_CONCURRENCY)", v)
	}
	slots, _ := metricSum(s.workerURLs[0]+"/metrics", "temporal_worker_task_slots_available")
	pollers, _ := metricSum(s.workerURLs[0]+"/metrics", "temporal_num_pollers")
	t.Logf("worker-1 metrics: task slots available (all kinds) %.0f, pollers %.0f", slots, pollers)
	var sample []string
	s.db.SelectContext(ctx, &sample, `SELECT object_key FROM tasks WHERE batch_id = $1 ORDER BY object_key LIMIT 20`, id)
	if who, events, err := largestHistory(ctx, tc.addr, id, sample); err == nil {
		t.Logf("longest history: %d events (%s)", events, who)
	} else {
		t.Errorf("histories: %v", err)
	}
	return run, shapeOf(t, ctx, s.db, id)
}

// batchShape is a batch's rows without what differs between two runs of
// the same rules (IDs, times, which inspectors were matched), gathered per
// object, per county and for the batch itself.
type batchShape struct {
	objects  map[string]string // object key → its rows
	counties map[string]string
	batch    string
}

func shapeOf(t *testing.T, ctx context.Context, db *sqlx.DB, id string) batchShape {
	t.Helper()
	rows := map[string][]string{} // owner → rows; owner "" is the batch
	add := func(owner, row string) { rows[owner] = append(rows[owner], row) }
	query := func(q string, f func(owner, row string)) {
		var got []struct {
			Owner string `db:"owner"`
			Row   string `db:"row"`
		}
		if err := db.SelectContext(ctx, &got, q, id); err != nil {
			t.Fatalf("%v: %s", err, q)
		}
		for _, g := range got {
			f(g.Owner, g.Row)
		}
	}
	objects := map[string]bool{}
	counties := map[string]bool{}
	query(`SELECT object_key AS owner, 'task ' || stage || ' team=' || cardinality(inspectors) || ' overdue=' || array_to_string(overdue, ',') AS row
		FROM tasks WHERE batch_id = $1`, func(o, r string) { objects[o] = true; add(o, r) })
	query(`SELECT DISTINCT county_code AS owner, '' AS row FROM tasks WHERE batch_id = $1`, func(o, _ string) { counties[o] = true })
	query(`SELECT object_key AS owner, 'result rev ' || revision || ' ' || result_code || ' ' || coalesce(review, '-') AS row FROM results WHERE batch_id = $1`, add)
	query(`SELECT object_key AS owner, 'follow-up ' || array_to_string(actions, ',') AS row FROM follow_ups WHERE batch_id = $1`, add)
	query(`SELECT object_key AS owner, 'published' AS row FROM publications WHERE batch_id = $1`, add)
	query(`SELECT object_key AS owner, 'accountability ' || duty || ' late=' || coalesce(working_days_late::text, '-') AS row FROM accountability WHERE batch_id = $1`, add)
	// Audit entries name the batch, batch/county or batch/object.
	query(`SELECT CASE WHEN entity_id = $1 THEN '' ELSE substr(entity_id, length($1) + 2) END AS owner, 'audit ' || entity || ' ' || action AS row
		FROM audit_log WHERE entity_id = $1 OR entity_id LIKE $1 || '/%'`, add)
	// Notification IDs are kind/batch/(county|object)/... The reminder to
	// match goes only to a county that has not matched when it falls due,
	// which depends on how fast the test's match arrives, not on the
	// disturbances (they come after the matches): it is left out.
	query(`SELECT split_part(substr(id, strpos(id, '/' || $1 || '/') + length($1) + 2), '/', 1) AS owner,
		'notification ' || kind || ' ' || role || ' ' || regexp_replace(substr(id, strpos(id, '/' || $1 || '/') + length($1) + 2), '^[^/]*', '') AS row
		FROM notifications WHERE id LIKE '%/' || $1::text || '/%' AND id NOT LIKE 'reminder/%/matching/%'`, add)
	out := batchShape{objects: map[string]string{}, counties: map[string]string{}}
	for owner, rs := range rows {
		sort.Strings(rs)
		joined := strings.Join(rs, "\n")
		switch {
		case objects[owner]:
			out.objects[owner] = joined
		case counties[owner]:
			out.counties[owner] = joined
		case owner == "":
			out.batch = joined
		default:
			t.Errorf("rows of batch %s that belong to neither an object nor a county: %s %v", id, owner, rs)
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// clusterBatchSize is about how many objects the cluster test's batch
// draws: 2,000 in `make test` (the scale; about 5 minutes on 2
// cores, 2026-12-04), another number with SPOTCHECK_CLUSTER_OBJECTS.
func clusterBatchSize(t *testing.T) int {
	v := os.Getenv("SPOTCHECK_CLUSTER_OBJECTS")
	if v == "" {
		return 2000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 {
		t.Fatalf("SPOTCHECK_CLUSTER_OBJECTS=%q: want a number of objects, at least 100", v)
	}
	return n
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
