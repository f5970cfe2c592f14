// Package consolebench measures the coordinator's dashboard (工作台) as
// people use it: 8 signed-in sessions at once asking for /console/ over
// a year of 50 locked batches in the 9 county-level units, with tasks at
// every stage, overdue deadlines and ledger entries. See README.md.
package consolebench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/api"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	batches  = 50
	sessions = 8
)

// timed records how long the server takes for each request.
type timed struct {
	h  http.Handler
	mu sync.Mutex
	d  []time.Duration
}

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	if r.URL.Path == "/console/" {
		t.mu.Lock()
		t.d = append(t.d, d)
		t.mu.Unlock()
	}
}

func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	db := testenv.NewMigratedDB(b)
	if _, err := demo.Seed(ctx, db, demo.Options{Objects: 6000, Inspectors: 150}); err != nil {
		b.Fatal(err)
	}
	// The year's batches, each drawing 4 objects in each county.
	svc := batch.NewService(db)
	count := 4
	rules := batch.Rules{Items: []batch.ItemRef{{Code: "ZR-01", Version: 1}}, StrataKeys: []string{"region"},
		Quotas: []batch.QuotaRule{{Count: &count}}}
	zero := 0
	rules.Exclusions.WindowDays = &zero
	for i := range batches {
		id := fmt.Sprintf("BENCH-%02d", i+1)
		if _, err := svc.Create(ctx, batch.CreateRequest{ID: id, Name: fmt.Sprintf("基准第 %d 批", i+1), Rules: rules, Actor: "bench"}); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Freeze(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Draw(ctx, id, "bench"); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Lock(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	// Tasks at every stage, a tenth of them overdue, with ledger entries;
	// deadlines around today so that some fall due within 5 working days.
	db.MustExec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspection_due, result_due, overdue)
		SELECT batch_id, object_key, county_code,
		       (ARRAY['assigned','inspected','result_entered','returned','approved','published','follow_up','closed'])[1 + (row_number() OVER ()) % 8],
		       current_date + ((row_number() OVER ()) % 20)::int - 5, current_date + ((row_number() OVER ()) % 30)::int,
		       CASE WHEN (row_number() OVER ()) % 10 = 0 THEN ARRAY['inspection'] ELSE '{}' END
		FROM batch_objects WHERE (hashtext(object_key) % 7) <> 0`)
	db.MustExec(`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at, working_days_late)
		SELECT batch_id, object_key, county_code, 'inspection', inspection_due, now(), 2 FROM tasks WHERE overdue <> '{}'`)
	var objects, counties int
	db.Get(&objects, `SELECT count(*) FROM batch_objects`)
	db.Get(&counties, `SELECT count(DISTINCT county_code) FROM batch_objects`)

	ss := auth.NewSessions(db, auth.DefaultSessionPolicy)
	h := &timed{h: api.NewHandler(api.Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(),
		Auth: auth.NewAuthenticator(db, nil).WithSessions(ss), Console: web.NewConsole(ss, zap.NewNop())})}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tokens := make([]string, sessions)
	for i := range tokens {
		name := fmt.Sprintf("coordinator%d", i)
		if _, err := auth.CreateUser(ctx, db, "bench", auth.NewUser{Username: name, Role: auth.Coordinator, Password: "Bench-password-2026"}); err != nil {
			b.Fatal(err)
		}
		_, tok, err := ss.SignIn(ctx, name, "Bench-password-2026", auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	get := func(tok string) {
		req, _ := http.NewRequest("GET", srv.URL+"/console/", nil)
		req.AddCookie(&http.Cookie{Name: "spotcheck_session", Value: tok})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		_, _ = fmt.Fprint(&sb, resp.Status)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("dashboard: %s", sb.String())
		}
	}
	for _, tok := range tokens { // warm the caches and the pool
		get(tok)
	}
	h.d = nil
	load, _ := os.ReadFile("/proc/loadavg")
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := max(b.N/sessions, 25)
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				get(tok)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	d := slices.Clone(h.d)
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(len(d))/wall.Seconds(), "pages/s")
	after, _ := os.ReadFile("/proc/loadavg")
	b.Logf("%d batches, %d drawn objects in %d counties; %d sessions × %d pages: server time p50 %s, p99 %s, max %s; %.0f pages/s; load before %s, after %s",
		batches, objects, counties, sessions, per, q(0.5), q(0.99), d[len(d)-1], float64(len(d))/wall.Seconds(),
		strings.TrimSpace(string(load)), strings.TrimSpace(string(after)))
}
