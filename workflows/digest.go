package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

var digests *activities.Digests

// DigestScheduleID names the Temporal Schedule that starts DigestWorkflow
// every day at DIGEST_TIME.
const DigestScheduleID = "digest"

// DigestReport says what a day's digest run did.
type DigestReport struct {
	Day        workday.Date `json:"day"`
	WorkingDay bool         `json:"working_day"`
	Contacts   int          `json:"contacts"`
	// Sent counts digests delivered (now or by an earlier run of the day);
	// Failed those that could not be.
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
}

// DigestWorkflow sends the day's digests: on a working day, each digest
// contact gets one message with its region's deadlines due within five
// working days and those overdue. The schedule starts it daily; a second
// run of a day (a manual trigger) sends nothing twice.
func DigestWorkflow(ctx workflow.Context) (DigestReport, error) {
	ctx = withIO(ctx)
	rep := DigestReport{Day: workday.DateOf(workflow.Now(ctx))}
	var plan activities.DigestDay
	if err := workflow.ExecuteActivity(ctx, digests.PlanDigests, rep.Day).Get(ctx, &plan); err != nil {
		return rep, err
	}
	if plan.Unscheduled != 0 {
		workflow.GetLogger(ctx).Error("no digest: the working-day calendar lacks a year", "year", plan.Unscheduled)
	}
	rep.WorkingDay, rep.Contacts = plan.WorkingDay, len(plan.Contacts)
	if !plan.WorkingDay || plan.Horizon == nil {
		return rep, nil
	}
	// A digest is of its morning: retried for some hours, not into the
	// next day's.
	sendCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 12 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 1000},
	})
	futures := make([]workflow.Future, len(plan.Contacts))
	for i, id := range plan.Contacts {
		futures[i] = workflow.ExecuteActivity(sendCtx, digests.SendDigest, activities.DigestInput{ContactID: id, Day: plan.Day, Horizon: *plan.Horizon})
	}
	for i, f := range futures {
		var out activities.DeliveryOutcome
		if err := f.Get(ctx, &out); err != nil {
			rep.Failed++
			workflow.GetLogger(ctx).Error("digest not delivered", "contact", plan.Contacts[i], "error", err)
			continue
		}
		if out.Status != "" {
			rep.Sent++
		}
	}
	return rep, nil
}
