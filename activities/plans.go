package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Starter starts batches: the one place a batch is created, used by POST
// /batches and by plans. Temporal is the client that starts the batch
// workflows on TaskQueue.
type Starter struct {
	Batches   *batch.Service
	Temporal  client.Client
	TaskQueue string
}

// BatchStart is a batch to create and start. Policy is a validated
// lifecycle.Policy as JSON.
type BatchStart struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Rules         batch.Rules      `json:"rules"`
	InspectionEnd workday.Date     `json:"inspection_end"`
	Policy        lifecycle.Policy `json:"policy"`
	Actor         string           `json:"actor"`
}

// StartBatch commits the draw (batch.Service.Create), records the
// schedule, and starts the batch's workflow, whose ID is "batch/" and the
// batch's ID. Every step is idempotent, so repeating a start whose
// workflow did not start starts it.
func (s *Starter) StartBatch(ctx context.Context, req BatchStart) (batch.Batch, error) {
	b, err := s.Batches.Create(ctx, batch.CreateRequest{ID: req.ID, Name: req.Name, Rules: req.Rules, Actor: req.Actor})
	if err != nil {
		return b, err
	}
	policy, err := json.Marshal(req.Policy)
	if err != nil {
		return b, fmt.Errorf("policy of batch %s: %w", b.ID, err)
	}
	if err := s.Batches.RecordSchedule(ctx, b.ID, req.InspectionEnd, policy); err != nil {
		return b, err
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       lifecycle.BatchWorkflowID(b.ID),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, lifecycle.BatchWorkflowName, lifecycle.BatchInput{BatchID: b.ID, InspectionEnd: req.InspectionEnd, Policy: req.Policy})
	if err != nil {
		return b, fmt.Errorf("start the workflow of batch %s (repeat the request to retry): %w", b.ID, err)
	}
	return b, nil
}

// Plans are the activities of the plan workflow.
type Plans struct {
	Plans   *plan.Service
	Starter *Starter
	// DefaultPolicy is the policy of a plan without one.
	DefaultPolicy lifecycle.Policy
	// Now is the clock that says which day it is; nil means time.Now.
	Now func() time.Time
}

func (p *Plans) today() workday.Date {
	if p.Now == nil {
		return workday.DateOf(time.Now())
	}
	return workday.DateOf(p.Now())
}

// PlannedStart asks for the Seq-th batch of a plan: a planned one, or an
// extra one started by hand.
type PlannedStart struct {
	PlanID string `json:"plan_id"`
	Seq    int    `json:"seq"`
	Extra  bool   `json:"extra"`
	Name   string `json:"name,omitempty"` // of an extra batch
	Actor  string `json:"actor"`
	// InspectionEnd, when set, ends an extra batch's inspection period
	// before the plan's.
	InspectionEnd *workday.Date `json:"inspection_end,omitempty"`
}

// StartedBatch is what a plan's batch start answers.
type StartedBatch struct {
	Seq     int    `json:"seq"`
	BatchID string `json:"batch_id"`
	Extra   bool   `json:"extra"`
}

// StartBatch starts a plan's batch with the plan's rules and policy. A
// plan no longer approved, and an inspection period already over, are
// refused without retry.
func (p *Plans) StartBatch(ctx context.Context, in PlannedStart) (StartedBatch, error) {
	pl, err := p.Plans.Get(ctx, in.PlanID)
	if err != nil {
		return StartedBatch{}, Reject(err)
	}
	if !plan.Startable(pl.State) {
		return StartedBatch{}, Reject(fault.New(fault.Conflict, "plan %s is %s; it cannot start batches", pl.ID, pl.State))
	}
	name := in.Name
	end := pl.InspectionEndOf(in.Seq)
	if in.Extra {
		if in.InspectionEnd != nil {
			end = *in.InspectionEnd
		}
		if name == "" {
			name = fmt.Sprintf("%s 追加第%d批", pl.Name, in.Seq)
		}
	} else {
		found := false
		for _, b := range pl.Batches {
			if b.Seq == in.Seq {
				name, found = b.Name, true
			}
		}
		if !found {
			return StartedBatch{}, Reject(fault.New(fault.NotFound, "plan %s has no batch %d", pl.ID, in.Seq))
		}
	}
	if today := p.today(); !end.After(today) {
		return StartedBatch{}, Reject(fault.Field("inspection_end", "the inspection period of batch %d of plan %s ended on %s", in.Seq, pl.ID, end))
	}
	policy := p.DefaultPolicy
	if pl.Policy != nil {
		policy = *pl.Policy
	}
	id := plan.BatchID(pl.ID, in.Seq)
	if _, err := p.Starter.StartBatch(ctx, BatchStart{ID: id, Name: name, Rules: pl.Rules, InspectionEnd: end, Policy: policy, Actor: in.Actor}); err != nil {
		return StartedBatch{}, Reject(err)
	}
	if err := p.Plans.RecordBatch(ctx, pl.ID, in.Seq, id, in.Extra, in.Actor); err != nil {
		return StartedBatch{}, err
	}
	return StartedBatch{Seq: in.Seq, BatchID: id, Extra: in.Extra}, nil
}
