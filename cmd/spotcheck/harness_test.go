package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/spotcheck-gov/spotcheck/internal/apicontract"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// liveSystem is spotcheck's API (and, unless told otherwise, its worker)
// running in the test process on the package's PostgreSQL and Temporal.
type liveSystem struct {
	t        *testing.T
	ctx      context.Context
	db       *sqlx.DB
	dbURL    string
	temporal string
	queue    string
	base     string
}

func startSystem(t *testing.T, ctx context.Context, queue string, r roles) *liveSystem {
	t.Helper()
	s := &liveSystem{t: t, ctx: ctx, dbURL: testenv.DatabaseURL(t), temporal: testenv.TemporalAddress(t), queue: queue}
	s.db = sqlx.MustOpen("postgres", s.dbURL)
	t.Cleanup(func() { s.db.Close() })
	ensureCalendar(t, ctx, s.db)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Register(newFlagSetForTest())
	// The application runs as the runtime role, as in production.
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TaskQueue = testenv.RuntimeURL(s.dbURL), s.temporal, queue
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), contractChecked(t, r), ln, nil)
	}()
	t.Cleanup(func() { stop(); <-served })
	s.base = "http://" + ln.Addr().String()
	return s
}

// contractChecked is r with the API behind the check of each request and
// response against the document it serves (internal/apicontract).
func contractChecked(t *testing.T, r roles) roles {
	r.checkAPI = func(h http.Handler) http.Handler { return apicontract.Wrap(t, h) }
	return r
}

// ensureCalendar gives this year and the next a holiday schedule when the
// shipped calendar lacks them, so that the lifecycle tests keep running
// after 2026. The schedule is a stand-in (New Year's Day only), marked as
// such: real years come from the State Council's notice through the
// calendar API.
func ensureCalendar(t testing.TB, ctx context.Context, db *sqlx.DB) {
	t.Helper()
	store := workday.NewStore(db)
	years, err := store.Years(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[int]bool{}
	for _, y := range years {
		have[y.Year] = true
	}
	// Live systems run on Temporal's real clock, so this is the one place
	// their tests take the real year (China's, where deadlines are counted).
	this := workday.DateOf(time.Now()).Year
	for _, y := range []int{this, this + 1} {
		if have[y] {
			continue
		}
		sched := workday.Schedule{Year: y, Holidays: []workday.Date{{Year: y, Month: time.January, Day: 1}}}
		if _, _, err := store.PutSchedule(ctx, sched, "test stand-in", "test", 0); err != nil {
			t.Fatalf("stand-in calendar for %d: %v", y, err)
		}
	}
}

// token creates an API key for role (and county).
func (s *liveSystem) token(role auth.Role, county string) string {
	s.t.Helper()
	_, tok, err := auth.CreateKey(s.ctx, s.db, "test", auth.NewKey{Name: "test " + string(role) + county, Role: role, County: county})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// call sends body as JSON with the bearer token and checks the status.
func (s *liveSystem) call(method, path, tok string, body any, want int) map[string]any {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(s.ctx, method, s.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	json.Unmarshal(raw, &out)
	return out
}

// match runs a county's match, retrying while the county's workflow is
// still starting after the lock (409).
func (s *liveSystem) match(id, county, tok string) {
	s.t.Helper()
	path := "/api/v1/batches/" + id + "/counties/" + county + "/match"
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(s.ctx, "POST", s.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return
		case resp.StatusCode == http.StatusConflict && i < 50:
			time.Sleep(200 * time.Millisecond)
		default:
			s.t.Fatalf("match %s: %d %s", path, resp.StatusCode, body)
		}
	}
}

// eventually waits up to limit for cond.
func (s *liveSystem) eventually(what string, limit time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tasks lists a batch's tasks (all pages) as the coordinator sees them.
func (s *liveSystem) tasks(id, tok, query string) []map[string]any {
	var out []map[string]any
	cursor := ""
	for {
		page := s.call("GET", "/api/v1/batches/"+id+"/tasks?limit=500"+query+cursor, tok, nil, http.StatusOK)
		items, _ := page["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = "&cursor=" + next
	}
}

// lockedDaysAgo moves the lock of batch id back by days, as if it had been
// locked then: an inspection before the lock is refused, so a test whose
// result must be late inspects within that time.
func (s *liveSystem) lockedDaysAgo(id string, days int) {
	s.t.Helper()
	if _, err := s.db.ExecContext(s.ctx, `UPDATE batches SET locked_at = locked_at - make_interval(days => $2) WHERE id = $1`, id, days); err != nil {
		s.t.Fatal(err)
	}
}

// beacon posts the beacon once the batch workflow awaits it: the database
// says frozen a moment before the workflow has taken the freeze's result
// (409 "is freezing" until then, longer on a loaded machine).
func (s *liveSystem) beacon(id, tok, beacon string) {
	s.t.Helper()
	s.eventually("the workflow to await the beacon", 2*time.Minute, func() bool {
		b, _ := json.Marshal(map[string]string{"beacon": beacon})
		req, _ := http.NewRequestWithContext(s.ctx, "POST", s.base+"/api/v1/batches/"+id+"/beacon", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict && resp.StatusCode < 500 {
			s.t.Fatalf("beacon of %s: %d %s", id, resp.StatusCode, body)
		}
		return resp.StatusCode == http.StatusOK
	})
}

// haiyanBatch is the request of a batch drawing every ZR-01 object of
// 海盐县 (a handful), so that two runs of a live test draw the same ones; its
// inspection period ends 60 days from today (China time), which the
// stand-in calendar of ensureCalendar covers on any day of the year.
func haiyanBatch(id, name string, policy map[string]any) map[string]any {
	return map[string]any{
		"id": id, "name": name,
		"rules": map[string]any{
			"items":       []any{map[string]any{"code": "ZR-01", "version": 1}},
			"filter":      map[string]any{"regions": []string{"330424"}},
			"strata_keys": []string{"risk"},
			"quotas":      []any{map[string]any{"ratio": "1"}},
			"exclusions":  map[string]any{"window_days": 0},
		},
		"inspection_end": workday.DateOf(time.Now()).AddDays(60).String(),
		"policy":         policy,
	}
}
