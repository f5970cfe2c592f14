package workflows

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
)

// planStarts records the StartBatch calls with the workflow clock.
type planStarts struct {
	mu    sync.Mutex
	env   *testsuite.TestWorkflowEnvironment
	calls []activities.PlannedStart
	at    []time.Time
}

func (f *planStarts) StartBatch(_ context.Context, in activities.PlannedStart) (activities.StartedBatch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	f.at = append(f.at, f.env.Now())
	return activities.StartedBatch{Seq: in.Seq, BatchID: in.PlanID + "-" + string(rune('0'+in.Seq)), Extra: in.Extra}, nil
}

func newPlanEnv(t *testing.T, start time.Time) (*testsuite.TestWorkflowEnvironment, *planStarts) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	f := &planStarts{env: env}
	env.RegisterWorkflow(PlanWorkflow)
	env.RegisterActivityWithOptions(f.StartBatch, activity.RegisterOptions{Name: "StartBatch"})
	return env, f
}

func planQuery(t *testing.T, env *testsuite.TestWorkflowEnvironment) PlanProgress {
	t.Helper()
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p PlanProgress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func planUpdate(t *testing.T, env *testsuite.TestWorkflowEnvironment, id, name string, arg any, wantErr string) {
	t.Helper()
	env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {
			if wantErr != "" {
				t.Errorf("%s accepted, want rejection %q", name, wantErr)
			}
		},
		OnReject: func(err error) {
			if wantErr == "" || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s rejected: %v (want %q)", name, err, wantErr)
			}
		},
		OnComplete: func(_ any, err error) {
			if err != nil && wantErr == "" {
				t.Errorf("%s failed: %v", name, err)
			}
		},
	}, arg)
}

// Two batches dated in the near future start on their own at their dates;
// an extra one starts by hand; pause holds a draw until resume; cancel ends
// the plan.
func TestPlanStartsBatchesAtTheirDates(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, china)
	env, f := newPlanEnv(t, start)
	first, second, third := start.Add(time.Hour), start.Add(26*time.Hour), start.Add(72*time.Hour)
	in := PlanInput{PlanID: "P1", Actor: "coordinator:test", Until: time.Date(2027, 1, 1, 0, 0, 0, 0, china),
		Draws: []PlannedDraw{{Seq: 1, At: first}, {Seq: 2, At: second}, {Seq: 3, At: third}}}

	env.RegisterDelayedCallback(func() {
		p := planQuery(t, env)
		if p.State != PlanRunning || p.Batches[0].Status != BatchScheduled || len(f.calls) != 0 {
			t.Errorf("before the first date: %+v, calls %d", p, len(f.calls))
		}
	}, 30*time.Minute)
	env.RegisterDelayedCallback(func() {
		p := planQuery(t, env)
		if p.Batches[0].Status != BatchStarted || p.Batches[0].BatchID == "" || p.Batches[1].Status != BatchScheduled {
			t.Errorf("after the first date: %+v", p.Batches)
		}
		planUpdate(t, env, "x1", UpdateExtraBatch, ExtraBatch{Name: "投诉集中", By: "coordinator:test"}, "")
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		if p := planQuery(t, env); p.Batches[1].Status != BatchStarted {
			t.Errorf("after the second date: %+v", p.Batches)
		}
		planUpdate(t, env, "r0", UpdateResume, PlanControl{By: "c"}, "only a paused plan")
		planUpdate(t, env, "p1", UpdatePause, PlanControl{By: "c", Reason: "汛期"}, "")
		planUpdate(t, env, "p2", UpdatePause, PlanControl{By: "c"}, "only a running plan")
	}, 27*time.Hour)
	env.RegisterDelayedCallback(func() {
		// Paused past the third date: nothing starts.
		if p := planQuery(t, env); p.State != PlanPaused || p.Batches[2].Status != BatchScheduled {
			t.Errorf("paused: %+v", p)
		}
		planUpdate(t, env, "r1", UpdateResume, PlanControl{By: "c"}, "")
	}, 100*time.Hour)
	env.RegisterDelayedCallback(func() {
		if p := planQuery(t, env); p.Batches[2].Status != BatchStarted {
			t.Errorf("resumed: %+v", p.Batches)
		}
		planUpdate(t, env, "c1", UpdateCancel, PlanControl{By: "c"}, "")
	}, 101*time.Hour)
	env.ExecuteWorkflow(PlanWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("plan workflow did not complete")
	}
	var got PlanProgress
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if got.State != PlanCancelled || len(got.Batches) != 4 {
		t.Fatalf("result %+v", got)
	}
	wantSeq := []int{1, 4, 2, 3}
	wantAt := []time.Time{first, start.Add(2 * time.Hour), second, start.Add(100 * time.Hour)}
	if len(f.calls) != 4 {
		t.Fatalf("calls %+v", f.calls)
	}
	for i, c := range f.calls {
		if c.Seq != wantSeq[i] || c.Extra != (c.Seq == 4) || !f.at[i].Equal(wantAt[i]) {
			t.Errorf("call %d: %+v at %s, want seq %d at %s", i, c, f.at[i], wantSeq[i], wantAt[i])
		}
	}
}

// A cancelled plan starts nothing more, and its unstarted batches say so.
func TestCancelledPlanStartsNothing(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, china)
	env, f := newPlanEnv(t, start)
	env.RegisterDelayedCallback(func() {
		planUpdate(t, env, "c1", UpdateCancel, PlanControl{By: "c"}, "")
	}, time.Hour)
	env.ExecuteWorkflow(PlanWorkflow, PlanInput{PlanID: "P2", Until: time.Date(2027, 1, 1, 0, 0, 0, 0, china),
		Draws: []PlannedDraw{{Seq: 1, At: start.Add(48 * time.Hour)}}})
	var got PlanProgress
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 || got.State != PlanCancelled || got.Batches[0].Status != BatchCancelled {
		t.Errorf("got %+v, calls %v", got, f.calls)
	}
}

// The Starter and the API start BatchWorkflow by lifecycle's name: the
// worker registers the function under its own name, so they must agree.
func TestBatchWorkflowIsRegisteredUnderLifecyclesName(t *testing.T) {
	name := runtime.FuncForPC(reflect.ValueOf(BatchWorkflow).Pointer()).Name()
	if !strings.HasSuffix(name, "."+lifecycle.BatchWorkflowName) {
		t.Errorf("BatchWorkflow is %s, the starters start %s", name, lifecycle.BatchWorkflowName)
	}
}
