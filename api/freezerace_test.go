package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// heldFreeze freezes for real and then holds the activity's answer until
// released: the database says frozen while the workflow is still freezing,
// the window a caller who reads the batch and posts the beacon at once
// falls into.
type heldFreeze struct {
	activities.BatchSteps
	frozen, release chan struct{}
}

func (h heldFreeze) Freeze(ctx context.Context, id string) error {
	if err := h.BatchSteps.Freeze(ctx, id); err != nil {
		return err
	}
	close(h.frozen)
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestBatchReadsFreezingUntilTheBeaconIsOpen: while the freeze has
// committed and the workflow has not taken its answer, GET /batches/{id}
// reads freezing (not frozen) and the beacon is refused as not ready
// (409, Retry-After, "still freezing"); once the workflow awaits the
// beacon, the batch reads frozen and the beacon is taken.
func TestBatchReadsFreezingUntilTheBeaconIsOpen(t *testing.T) {
	db := testenv.DB(t)
	tc := testTemporal(t)
	item, sfx := drawFixture(t, db, 16)
	id := "2026-FR-" + sfx
	queue := "api-freeze-" + sfx
	held := heldFreeze{BatchSteps: activities.BatchSteps{Service: batch.NewService(db)},
		frozen: make(chan struct{}), release: make(chan struct{})}
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflow(workflows.BatchWorkflow)
	w.RegisterActivity(&activities.Batches{Steps: held})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	defer func() { _ = tc.TerminateWorkflow(context.Background(), workflows.BatchWorkflowID(id), "", "test over") }()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: roleTokens{}, Temporal: tc, TaskQueue: queue}, log: zap.NewNop()}
	v1 := r.Group("/api/v1", s.authenticate())
	s.batchRoutes(v1, r.Group("/public"))
	v1.POST("/batches/:id/beacon", newLifecycleAPI(s).postBeacon)
	a := apiClient{t: t, h: checked(t, r)}
	coordinator := []string{"Authorization", "Bearer coordinator"}

	a.ok(a.call("POST", "/api/v1/batches", batchRequest(id, item), coordinator...), http.StatusCreated, nil)
	select {
	case <-held.frozen:
	case <-time.After(2 * time.Minute):
		t.Fatal("the freeze did not run")
	}
	var b batch.Batch
	if err := db.Get(&b.State, `SELECT state FROM batches WHERE id = $1`, id); err != nil || b.State != batch.Frozen {
		t.Fatalf("database state %s, %v", b.State, err)
	}
	a.ok(a.call("GET", "/api/v1/batches/"+id, nil, coordinator...), http.StatusOK, &b)
	if b.State != "freezing" {
		t.Errorf("GET says %s while the workflow is still freezing", b.State)
	}
	rec := a.call("POST", "/api/v1/batches/"+id+"/beacon", map[string]string{"beacon": "witness"}, coordinator...)
	if rec.Code != http.StatusConflict || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "still freezing") {
		t.Errorf("beacon while freezing: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}

	close(held.release)
	deadline := time.Now().Add(time.Minute)
	for {
		a.ok(a.call("GET", "/api/v1/batches/"+id, nil, coordinator...), http.StatusOK, &b)
		if b.State == batch.Frozen || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b.State != batch.Frozen {
		t.Fatalf("state %s after the freeze", b.State)
	}
	// What the read says is what the next action finds.
	rec = a.call("POST", "/api/v1/batches/"+id+"/beacon", map[string]string{"beacon": "witness"}, coordinator...)
	if rec.Code != http.StatusOK {
		t.Errorf("beacon once frozen: %d %s", rec.Code, rec.Body)
	}
}

// TestMatchRightAfterTheLockIsNotReady: the batch is locked in the
// database but its county's workflow has not started yet (it starts right
// after the lock). A match posted in that window is told to try again in
// a moment (409 not-ready with Retry-After, "is starting"), never a
// final-sounding "already matched".
func TestMatchRightAfterTheLockIsNotReady(t *testing.T) {
	db := testenv.DB(t)
	id, county := matchedCounty(t, db, 2, "tag")
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: roleTokens{}, Temporal: testTemporal(t), TaskQueue: "api-test"}, log: zap.NewNop()}
	r.POST("/api/v1/batches/:id/counties/:county/match", s.authenticate(), newLifecycleAPI(s).postMatch)
	rec := do(checked(t, r), "POST", "/api/v1/batches/"+id+"/counties/"+county+"/match", bearer("county_officer/"+county))
	body := rec.Body.String()
	if rec.Code != http.StatusConflict || rec.Header().Get("Retry-After") == "" || !strings.Contains(body, "is starting") || strings.Contains(body, "already") {
		t.Errorf("match before the county's workflow: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
}
