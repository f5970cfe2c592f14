package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// ensureAuditHeadSchedule creates the daily publication of the audit
// chain's head (00:10 China time, 16:10 UTC), and starts one run at once
// when the schedule is new, so that a fresh system publishes its head
// without waiting a day.
func ensureAuditHeadSchedule(ctx context.Context, tc client.Client, cfg *config.Config) error {
	opts := client.ScheduleOptions{
		ID: workflows.AuditHeadScheduleID,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: 16}}, Minute: []client.ScheduleRange{{Start: 10}},
		}}},
		Action:             &client.ScheduleWorkflowAction{ID: workflows.AuditHeadScheduleID, Workflow: workflows.AuditHeadWorkflow, TaskQueue: cfg.TaskQueue},
		Overlap:            enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow:      24 * time.Hour,
		TriggerImmediately: true,
	}
	return ensureSchedule(ctx, tc, opts)
}

// ensureSchedule creates a schedule, or gives the one that exists opts'
// spec and action: the time or the task queue may have changed since.
func ensureSchedule(ctx context.Context, tc client.Client, opts client.ScheduleOptions) error {
	_, err := tc.ScheduleClient().Create(ctx, opts)
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		h := tc.ScheduleClient().GetHandle(ctx, opts.ID)
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec = &opts.Spec
			s.Action = opts.Action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
	}
	if err != nil {
		return fmt.Errorf("schedule %q: %w", opts.ID, err)
	}
	return nil
}
