package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// A plan's batches start from one PlanWorkflow per plan (ID "plan/<id>"),
// not from Temporal Schedules: the draws are a handful of dates, not a
// recurring calendar; pause, resume, cancel and an extra batch are Updates
// whose validators refuse what the plan's state does not allow (a
// Schedule would need its own state checks outside Temporal); progress is
// one Query; and the timers are tested with the SDK's time skipping like
// the batch workflows. Each durable timer survives worker restarts.

// Plan updates; the plan's progress is the QueryProgress query.
const (
	UpdatePause      = "pause"
	UpdateResume     = "resume"
	UpdateCancel     = "cancel"
	UpdateExtraBatch = "extra_batch"
)

// Plan workflow states and batch statuses.
const (
	PlanRunning   = "running"
	PlanPaused    = "paused"
	PlanCancelled = "cancelled"
	PlanCompleted = "completed"

	BatchScheduled = "scheduled"
	BatchStarting  = "starting"
	BatchStarted   = "started"
	BatchFailed    = "failed"
	BatchCancelled = "cancelled"
)

// PlanWorkflowID is the business ID of a plan's workflow: starting a plan
// twice finds the running one.
func PlanWorkflowID(planID string) string { return "plan/" + planID }

// PlanInput starts a plan workflow.
type PlanInput struct {
	PlanID string        `json:"plan_id"`
	Draws  []PlannedDraw `json:"draws"`
	// Until is when the plan closes (the end of its year): until then an
	// extra batch can be started by hand.
	Until time.Time `json:"until"`
	Actor string    `json:"actor"`
}

// PlannedDraw is the planned moment of a plan's Seq-th batch.
type PlannedDraw struct {
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
}

// PlanProgress answers the plan's progress query.
type PlanProgress struct {
	PlanID  string            `json:"plan_id"`
	State   string            `json:"state"`
	Batches []PlanBatchStatus `json:"batches"`
}

// PlanBatchStatus is one batch of a plan as its workflow sees it.
type PlanBatchStatus struct {
	Seq       int        `json:"seq"`
	DrawAt    *time.Time `json:"draw_at,omitempty"` // planned; none for an extra batch
	Extra     bool       `json:"extra"`
	Status    string     `json:"status"`
	BatchID   string     `json:"batch_id,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// PlanControl pauses, resumes or cancels a plan.
type PlanControl struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// ExtraBatch asks for a batch outside the planned dates, now.
type ExtraBatch struct {
	Name          string        `json:"name,omitempty"`
	InspectionEnd *workday.Date `json:"inspection_end,omitempty"`
	By            string        `json:"by"`
}

var plans *activities.Plans

type planRun struct {
	in      PlanInput
	state   string
	batches []*PlanBatchStatus
}

func (p *planRun) progress() PlanProgress {
	out := PlanProgress{PlanID: p.in.PlanID, State: p.state, Batches: make([]PlanBatchStatus, len(p.batches))}
	for i, b := range p.batches {
		out.Batches[i] = *b
	}
	return out
}

// next is the first planned batch not yet started, or nil.
func (p *planRun) next() *PlanBatchStatus {
	for _, b := range p.batches {
		if !b.Extra && b.Status == BatchScheduled {
			return b
		}
	}
	return nil
}

// PlanWorkflow starts each planned batch of a plan at its draw time, then
// stays open until the plan's year ends for extra batches. Paused, it
// starts nothing; a draw time that passed while paused starts on resume.
// Cancelled, it starts nothing more; batches already started run on.
func PlanWorkflow(ctx workflow.Context, in PlanInput) (PlanProgress, error) {
	ctx = withIO(ctx)
	p := &planRun{in: in, state: PlanRunning}
	for _, d := range in.Draws {
		at := d.At
		p.batches = append(p.batches, &PlanBatchStatus{Seq: d.Seq, DrawAt: &at, Status: BatchScheduled})
	}
	if err := p.register(ctx); err != nil {
		return p.progress(), err
	}
	for p.state != PlanCancelled {
		b := p.next()
		if b == nil {
			break
		}
		if p.state == PlanPaused {
			if err := workflow.Await(ctx, func() bool { return p.state != PlanPaused }); err != nil {
				return p.progress(), err
			}
			continue
		}
		if wait := b.DrawAt.Sub(workflow.Now(ctx)); wait > 0 {
			// Wake at the draw time, or earlier to pause or cancel.
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return p.state != PlanRunning }); err != nil {
				return p.progress(), err
			}
			continue
		}
		p.start(ctx, b, activities.PlannedStart{PlanID: in.PlanID, Seq: b.Seq, Actor: in.Actor})
	}
	// Extra batches can still be started until the plan's year ends.
	if p.state != PlanCancelled {
		if wait := in.Until.Sub(workflow.Now(ctx)); wait > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return p.state == PlanCancelled }); err != nil {
				return p.progress(), err
			}
		}
	}
	if p.state != PlanCancelled {
		p.state = PlanCompleted
	}
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return p.progress(), err
}

// start runs the StartBatch activity for b and records the outcome.
func (p *planRun) start(ctx workflow.Context, b *PlanBatchStatus, in activities.PlannedStart) (activities.StartedBatch, error) {
	b.Status = BatchStarting
	var got activities.StartedBatch
	err := workflow.ExecuteActivity(ctx, plans.StartBatch, in).Get(ctx, &got)
	if err != nil {
		b.Status, b.Error = BatchFailed, err.Error()
		workflow.GetLogger(ctx).Error("start plan batch", "plan", p.in.PlanID, "seq", b.Seq, "error", err)
		return got, err
	}
	now := workflow.Now(ctx)
	b.Status, b.BatchID, b.StartedAt = BatchStarted, got.BatchID, &now
	return got, nil
}

func (p *planRun) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (PlanProgress, error) { return p.progress(), nil }); err != nil {
		return err
	}
	control := func(name, want string, check func() error) error {
		return workflow.SetUpdateHandlerWithOptions(ctx, name, func(ctx workflow.Context, c PlanControl) (PlanProgress, error) {
			p.state = want
			if want == PlanCancelled {
				for _, b := range p.batches {
					if b.Status == BatchScheduled {
						b.Status = BatchCancelled
					}
				}
			}
			workflow.GetLogger(ctx).Info("plan "+name, "plan", p.in.PlanID, "by", c.By, "reason", c.Reason)
			return p.progress(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c PlanControl) error { return check() }})
	}
	if err := control(UpdatePause, PlanPaused, func() error {
		if p.state != PlanRunning {
			return conflict("plan %s is %s; only a running plan can be paused", p.in.PlanID, p.state)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := control(UpdateResume, PlanRunning, func() error {
		if p.state != PlanPaused {
			return conflict("plan %s is %s; only a paused plan can be resumed", p.in.PlanID, p.state)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := control(UpdateCancel, PlanCancelled, func() error {
		if p.state == PlanCancelled || p.state == PlanCompleted {
			return conflict("plan %s is already %s", p.in.PlanID, p.state)
		}
		return nil
	}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtraBatch, func(ctx workflow.Context, e ExtraBatch) (activities.StartedBatch, error) {
		ctx = withIO(ctx) // handlers run on the root context
		b := &PlanBatchStatus{Seq: len(p.batches) + 1, Extra: true, Status: BatchStarting}
		p.batches = append(p.batches, b)
		return p.start(ctx, b, activities.PlannedStart{PlanID: p.in.PlanID, Seq: b.Seq, Extra: true, Name: e.Name, InspectionEnd: e.InspectionEnd, Actor: e.By})
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, e ExtraBatch) error {
		if p.state == PlanCancelled || p.state == PlanCompleted {
			return conflict("plan %s is %s; it starts no more batches", p.in.PlanID, p.state)
		}
		if e.InspectionEnd != nil && !e.InspectionEnd.After(workday.DateOf(workflow.Now(ctx))) {
			return invalid(fault.Field("inspection_end", "%s is not after today", e.InspectionEnd))
		}
		return nil
	}})
}
