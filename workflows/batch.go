// Package workflows runs each batch of an annual plan as durable Temporal
// workflows, in the order of the seed notice's 二(五):
//
//	BatchWorkflow          名单抽取 (draw) → 锁定分配至县 (lock, assign to counties)
//	  CountyWorkflow       通知县局 → 随机匹配 (inspector match, or automatic)
//	    PartitionWorkflow  a page of 500 tasks assigned at once; the inspection
//	                       deadline watched for each until its first report
//	      ObjectWorkflow   (opened at that report) 检查 → 结果录入 (15 working
//	                       days) → 审核 → 结果公示 (20 working days) → 后续监管
//	                       (entry 15 working days)
//	BatchWorkflow          → 批次汇总公示 (summary) → 数据存档 (archive)
//
// Every deadline is a durable timer with reminders before it and an
// escalation with an accountability entry when it passes. Workflows only
// decide; activities (package activities) do the I/O and the calendar
// arithmetic.
package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Activity receivers: nil pointers whose methods name the activities.
var (
	batches   *activities.Batches
	deadlines *activities.Deadlines
	tasks     *activities.Tasks
	matcher   *activities.Matching
	notifier  *activities.Notifier
	// progressor counts a county's progress in the database.
	progressor *activities.Progress
)

// BatchWorkflow runs one batch from its draw to its archive.
func BatchWorkflow(ctx workflow.Context, in lifecycle.BatchInput) (lifecycle.BatchProgress, error) {
	ctx = withIO(ctx)
	b := newBatchRun(in)
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (lifecycle.BatchProgress, error) { return b.progress(), nil }); err != nil {
		return lifecycle.BatchProgress{}, err
	}
	reports := workflow.GetSignalChannel(ctx, signalCountyUpdate)
	if err := b.acceptBeacon(ctx); err != nil {
		return lifecycle.BatchProgress{}, err
	}

	if in.Resume == nil {
		// 名单抽取. The population is frozen and published before anyone can
		// know the beacon, so nobody can steer the draw by choosing it.
		b.phase = "freezing"
		if err := workflow.ExecuteActivity(ctx, batches.Freeze, in.BatchID).Get(ctx, nil); err != nil {
			return b.progress(), fmt.Errorf("freeze population: %w", err)
		}
		b.phase = "awaiting_beacon"
		beacon, err := b.awaitBeacon(ctx, in.Policy.BeaconWait)
		if err != nil {
			return b.progress(), err
		}
		b.phase = "drawing"
		if err := workflow.ExecuteActivity(ctx, batches.Draw, activities.DrawInput{BatchID: in.BatchID, Beacon: beacon}).Get(ctx, nil); err != nil {
			return b.progress(), fmt.Errorf("draw: %w", err)
		}

		// 锁定分配至县. After the lock the list never changes; a new draw
		// needs a new batch.
		// Counties learn how many objects they received and read them
		// from the database: the answer keeps its size whatever the batch.
		// Versioned: older batches passed every key.
		lock := batches.Lock
		if workflow.GetVersion(ctx, "county-by-reference", workflow.DefaultVersion, 1) == 1 {
			lock = batches.LockCounties
		}
		var shares []activities.CountyShare
		if err := workflow.ExecuteActivity(ctx, lock, in.BatchID).Get(ctx, &shares); err != nil {
			return b.progress(), fmt.Errorf("lock and assign to counties: %w", err)
		}

		// Each county matches its own inspectors and tracks its objects.
		b.phase = "counties"
		for _, s := range shares {
			b.counties[s.County] = &lifecycle.CountyProgress{County: s.County, Phase: "starting", Objects: s.Size()}
			child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: CountyWorkflowID(in.BatchID, s.County),
				// The county reports back by signal; the batch may continue
				// as new without losing its counties.
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON,
			})
			f := workflow.ExecuteChildWorkflow(child, CountyWorkflow, CountyInput{
				BatchID: in.BatchID, County: s.County, Objects: s.Objects, Count: s.Count,
				InspectionEnd: in.InspectionEnd, Policy: in.Policy,
			})
			if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
				return b.progress(), fmt.Errorf("start county %s: %w", s.County, err)
			}
		}
	}

	// Wait until every county has closed all its objects.
	for !b.allDone() {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(reports, func(c workflow.ReceiveChannel, _ bool) {
			var p lifecycle.CountyProgress
			c.Receive(ctx, &p)
			b.apply(p)
		})
		sel.Select(ctx)
		if !b.allDone() && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			for {
				var p lifecycle.CountyProgress
				if !reports.ReceiveAsync(&p) {
					break
				}
				b.apply(p)
			}
			next := in
			snapshot := b.progress()
			next.Resume = &snapshot
			return lifecycle.BatchProgress{}, workflow.NewContinueAsNewError(ctx, BatchWorkflow, next)
		}
	}

	// 结果公示: the batch summary goes public.
	b.phase = "publishing"
	if err := workflow.ExecuteActivity(withBulk(ctx), batches.PublishSummary, in.BatchID).Get(ctx, nil); err != nil {
		return b.progress(), fmt.Errorf("publish batch summary: %w", err)
	}
	// 数据存档: a sealed record of the batch's rows and proofs.
	b.phase = "archiving"
	if err := workflow.ExecuteActivity(withBulk(ctx), batches.Archive, in.BatchID).Get(ctx, nil); err != nil {
		return b.progress(), fmt.Errorf("archive batch: %w", err)
	}
	b.phase = "archived"
	return b.progress(), nil
}

// CountyWorkflow is one county's part of a batch: it tells the county, has
// its inspectors matched, and tracks every object until it is closed.
func CountyWorkflow(ctx workflow.Context, in CountyInput) error {
	ctx = withIO(ctx)
	c := newCountyRun(in)
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (lifecycle.CountyProgress, error) { return c.progress(), nil }); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, signalObjectStage)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var e StageEvent
			events.Receive(ctx, &e)
			c.apply(e)
		}
	})

	if in.Resume == nil {
		if err := c.acceptMatch(ctx); err != nil {
			return err
		}
		// 锁定分配至县: the county learns it has objects to inspect.
		c.phase = "awaiting_match"
		c.notice(ctx, "batch-assigned/"+in.BatchID+"/"+in.County, "county_officer", "assigned",
			fmt.Sprintf("批次 %s 已锁定分配 %d 个检查对象至本辖区，请完成执法检查人员随机匹配", in.BatchID, c.size()))
		c.reportProgress(ctx)

		// 随机匹配: the county runs it, or the system does when the county
		// has not after AutoMatchDays working days.
		teams, err := c.awaitMatch(ctx)
		if err != nil {
			return err
		}

		// Track every object; partitions keep each workflow far below
		// Temporal's limit of pending children.
		c.phase = "tracking"
		for _, k := range c.setAsideKeys() {
			c.notice(ctx, "set-aside/"+in.BatchID+"/"+k, "city_coordinator", "exception",
				fmt.Sprintf("批次 %s %s 的检查对象 %s 无可匹配的执法检查人员，已移出本县匹配，请跨县调配人员或作为定向检查处理", in.BatchID, in.County, k))
		}
		parts := pages(in, in.Count-len(c.setAside))
		if !in.byReference() {
			parts = partition(in, teams)
		}
		for i, part := range parts {
			child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        lifecycle.PartitionWorkflowID(in.BatchID, in.County, i),
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_ABANDON,
			})
			f := workflow.ExecuteChildWorkflow(child, PartitionWorkflow, part)
			if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
				return fmt.Errorf("start partition %d of county %s: %w", i, in.County, err)
			}
		}
	}

	// Report progress to the batch, gathering bursts of changes, until every
	// object is closed; continue as new before the history grows long.
	for !c.allClosed() {
		if err := workflow.Await(ctx, func() bool {
			return c.changed || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}); err != nil {
			return err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			for {
				var e StageEvent
				if !events.ReceiveAsync(&e) {
					break
				}
				c.apply(e)
			}
			next := in
			next.Resume = c.snapshot()
			return workflow.NewContinueAsNewError(ctx, CountyWorkflow, next)
		}
		if !c.allClosed() {
			_ = workflow.Sleep(ctx, in.Policy.ProgressEvery)
		}
		c.reportProgress(ctx)
	}
	c.phase = "done"
	c.reportProgress(ctx)
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// PartitionWorkflow tracks a page of a county's objects and waits for
// them. Each object's workflow starts at its first report; until then the
// partition watches their shared inspection deadline (pagerun.go).
// Versioned: older partitions started every object at once.
func PartitionWorkflow(ctx workflow.Context, in PartitionInput) error {
	if in.Objects == nil && workflow.GetVersion(ctx, "open-on-demand", workflow.DefaultVersion, 1) == 1 {
		return newPageRun(ctx, in).run(ctx)
	}
	if in.Objects == nil {
		objects, err := readPage(withIO(ctx), in)
		if err != nil {
			return err
		}
		in.Objects = objects
	}
	// The inspection deadline is the batch's: planned once for the page.
	// Versioned: older partitions had each object plan it.
	if len(in.Objects) > 0 && workflow.GetVersion(ctx, "shared-inspection-plan", workflow.DefaultVersion, 1) == 1 {
		first := in.Objects[0]
		d := planDuty(withIO(ctx), DutyInspection, activities.PlanInput{Due: &first.InspectionEnd}, first.Policy)
		for i := range in.Objects {
			in.Objects[i].InspectionPlan = &d.Plan
		}
	}
	futures := make([]workflow.ChildWorkflowFuture, len(in.Objects))
	for i, o := range in.Objects {
		// Start in slices with a pause between, so that a county of
		// thousands does not arrive on the servers at once.
		if i > 0 && i%startSlice == 0 {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: ObjectWorkflowID(o.BatchID, o.ObjectKey),
		})
		futures[i] = workflow.ExecuteChildWorkflow(child, ObjectWorkflow, o)
	}
	var errs []error
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			errs = append(errs, fmt.Errorf("object %s: %w", in.Objects[i].ObjectKey, err))
		}
	}
	return errors.Join(errs...)
}

// ObjectWorkflow tracks one drawn object through inspection, result entry,
// review, publication and follow-up, each with its deadline.
func ObjectWorkflow(ctx workflow.Context, in ObjectInput) error {
	o := newObjectRun(in)
	// Versioned: older histories ran every write as an activity.
	o.localIO = workflow.GetVersion(ctx, "local-writes", workflow.DefaultVersion, 1) == 1
	ctx = o.io(ctx)
	// The state newObjectRun took over is in place before the handlers:
	// registering one runs at once the update that opened the object.
	if err := o.register(ctx); err != nil {
		return err
	}
	// 检查: the inspection must be completed within the batch's period.
	switch {
	case in.Opened != nil:
		// Opened by its partition on the first report: the task row is
		// written, and the deadline goes on as the partition watched it.
	case in.InspectionPlan != nil:
		// Planned by the partition: the task row is written once, assigned
		// with its deadline.
		o.move(ctx, inspection.Assigned)
	default:
		o.move(ctx, inspection.Assigned)
		o.plan(ctx, DutyInspection, activities.PlanInput{Due: &in.InspectionEnd})
	}
	if err := o.awaitDuty(ctx, DutyInspection, func() bool { return o.inspectedOn != nil }); err != nil {
		return err
	}
	o.move(ctx, inspection.Inspected)

	// 结果录入: within 15 working days after the inspection is completed,
	// then 审核 by a county officer, who may return it for correction.
	o.plan(ctx, DutyResultEntry, activities.PlanInput{Start: o.inspectedOn, WorkingDays: in.Policy.ResultEntryDays})
	for {
		if err := o.awaitDuty(ctx, DutyResultEntry, func() bool { return o.result != nil }); err != nil {
			return err
		}
		o.move(ctx, inspection.ResultEntered)
		if err := workflow.Await(ctx, func() bool { return o.review != nil }); err != nil {
			return err
		}
		if o.review.Approve {
			break
		}
		o.result, o.review = nil, nil
		o.move(ctx, inspection.Returned)
	}
	o.move(ctx, inspection.Approved)
	today := workday.DateOf(workflow.Now(ctx))

	// 移送司法机关: a suspected crime is transferred within days of the
	// approval; its deadline runs beside publication and follow-up, and the
	// object closes only once it is met. Versioned: older histories have no
	// such branch.
	if o.result.SuspectedCrime && workflow.GetVersion(ctx, "judicial-transfer", workflow.DefaultVersion, 1) == 1 {
		o.plan(ctx, DutyJudicialTransfer, activities.PlanInput{Start: &today, WorkingDays: in.Policy.TransferLimit()})
		o.transferWatched = true
		workflow.Go(ctx, func(ctx workflow.Context) {
			if err := o.awaitDuty(ctx, DutyJudicialTransfer, func() bool { return o.transferred }); err != nil {
				workflow.GetLogger(ctx).Error("judicial transfer deadline", "error", err)
			}
			o.transferWatched = false
		})
	}

	// 后续监管: problems found are followed up to completion by a deadline
	// set by the planned measure, watched beside publication (a follow-up
	// may be reported completed before the result is public). Versioned:
	// older histories have no such deadline.
	if inspection.FindsProblem(o.approvedCode) && workflow.GetVersion(ctx, "follow-up-deadline", workflow.DefaultVersion, 1) == 1 {
		o.plan(ctx, DutyFollowUp, activities.PlanInput{Start: &today, WorkingDays: in.Policy.FollowUpLimit(o.result.PlannedAction())})
		o.followUpWatched = true
		workflow.Go(ctx, func(ctx workflow.Context) {
			if err := o.awaitDuty(ctx, DutyFollowUp, func() bool { return o.followUpDone != nil }); err != nil {
				workflow.GetLogger(ctx).Error("follow-up deadline", "error", err)
			}
			o.followUpWatched = false
		})
	}

	// 结果公示: public within 20 working days of the approved result. It is
	// automatic; the deadline guards against publication failing.
	o.plan(ctx, DutyPublication, activities.PlanInput{Start: &today, WorkingDays: in.Policy.PublicationDays})
	published := workflow.ExecuteActivity(withPatience(ctx), tasks.Publish, activities.PublishInput{
		BatchID: in.BatchID, ObjectKey: in.ObjectKey, At: workflow.Now(ctx)})
	if err := o.awaitDuty(ctx, DutyPublication, published.IsReady); err != nil {
		return err
	}
	if err := published.Get(ctx, nil); err != nil {
		return fmt.Errorf("publish result: %w", err)
	}
	o.move(ctx, inspection.Published)

	// 后续监管: problems found are followed up ("谁管辖、谁负责"); the
	// measures are entered within 15 working days after the follow-up is
	// completed.
	if inspection.FindsProblem(o.approvedCode) {
		o.move(ctx, inspection.FollowUp)
		if err := workflow.Await(ctx, func() bool { return o.followUpDone != nil }); err != nil {
			return err
		}
		o.plan(ctx, DutyFollowUpEntry, activities.PlanInput{Start: o.followUpDone, WorkingDays: in.Policy.FollowUpEntryDays})
		if err := o.awaitDuty(ctx, DutyFollowUpEntry, func() bool { return o.followUpEntered }); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return !o.transferWatched && !o.followUpWatched }); err != nil {
		return err
	}
	o.move(ctx, inspection.Closed)
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// withIO sets the options of the database and notification activities:
// short attempts, retried with backoff until they succeed, so a database
// restart delays a batch but never fails it. Only errors that can heal are
// retried so: a caller's fault is non-retryable (activities.Reject), and so
// is a database error that recurs on every attempt (the worker's
// activities.PermanentErrors interceptor), which the Update that caused it
// answers as a 4xx.
func withIO(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    ioAttempt,
		ScheduleToCloseTimeout: ioWithin,
		RetryPolicy:            ioRetry,
	})
}

// withIO's and withLocalIO's options: an attempt's limit, the time within
// which a write must succeed, and how it is retried until then.
const (
	ioAttempt = time.Minute
	ioWithin  = 30 * 24 * time.Hour
)

var ioRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        10 * time.Minute,
	NonRetryableErrorTypes: []string{"BadPlanInput", "BadDueDateInput", "Conflict", "Invalid", "NotFound"},
}

// ioKey marks a context whose short writes run as local activities.
type ioKey struct{}

// withLocalIO runs the short writes of an object (its task row, an entry,
// a deadline's plan) as local activities: in the workflow task that asks
// for them, on the worker that holds the workflow, recorded as a marker.
// A result entry then costs the Temporal server one workflow task instead
// of one per write plus a trip through matching for each; the writes are
// idempotent, so one rerun after a crash changes nothing. The options are
// withIO's: a long database outage is waited out with the same backoff.
func withLocalIO(ctx workflow.Context) workflow.Context {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    ioAttempt,
		ScheduleToCloseTimeout: ioWithin,
		RetryPolicy:            ioRetry,
	})
	return workflow.WithValue(ctx, ioKey{}, true)
}

// runIO runs a short write as withLocalIO set up ctx: locally, or as an
// activity with withIO's options.
func runIO(ctx workflow.Context, activity any, args ...any) workflow.Future {
	if local, _ := ctx.Value(ioKey{}).(bool); local {
		return workflow.ExecuteLocalActivity(ctx, activity, args...)
	}
	return workflow.ExecuteActivity(ctx, activity, args...)
}

// withBulk runs work of a page or a whole batch (a page's tasks, a
// county's recount, the batch's summary and archive) on the bulk task
// queue, in worker slots of its own: however big a batch, it never holds
// up the activities people's entries wait for.
func withBulk(ctx workflow.Context) workflow.Context {
	return workflow.WithTaskQueue(withIO(ctx), lifecycle.BulkTaskQueue(workflow.GetInfo(ctx).TaskQueueName))
}

// withPatience is for work that may take long to succeed (publication).
func withPatience(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Minute,
		ScheduleToCloseTimeout: 180 * 24 * time.Hour,
		// Explicit attempts: the limit is the schedule-to-close time.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Hour, MaximumAttempts: 100000},
	})
}

// readPage reads the objects of a partition named by reference.
func readPage(ctx workflow.Context, in PartitionInput) ([]ObjectInput, error) {
	var page []staffing.ObjectTeam
	req := staffing.TeamsPageInput{BatchID: in.BatchID, County: in.County, Page: in.Page, Size: in.Size}
	if err := workflow.ExecuteActivity(ctx, matcher.TeamsPage, req).Get(ctx, &page); err != nil {
		return nil, fmt.Errorf("read page %d of county %s: %w", in.Page, in.County, err)
	}
	objects := make([]ObjectInput, len(page))
	for i, t := range page {
		objects[i] = ObjectInput{BatchID: in.BatchID, County: in.County, ObjectKey: t.ObjectKey, Team: t.Team,
			InspectionEnd: in.InspectionEnd, Policy: *in.Policy}
	}
	return objects, nil
}

// pages names the partitions of a county's matched objects by reference.
func pages(in CountyInput, matched int) []PartitionInput {
	var parts []PartitionInput
	for page := 0; page*maxObjectsPerWorker < matched; page++ {
		parts = append(parts, PartitionInput{BatchID: in.BatchID, County: in.County, Page: page, Size: maxObjectsPerWorker,
			InspectionEnd: in.InspectionEnd, Policy: &in.Policy})
	}
	return parts
}

// partition splits a county's objects into slices of at most
// maxObjectsPerWorker, in the order drawn.
func partition(in CountyInput, teams map[string][]string) []PartitionInput {
	var parts []PartitionInput
	for start := 0; start < len(in.Objects); start += maxObjectsPerWorker {
		end := min(start+maxObjectsPerWorker, len(in.Objects))
		var p PartitionInput
		for _, key := range in.Objects[start:end] {
			if _, ok := teams[key]; !ok {
				continue // set aside before the match: no team, not tracked here
			}
			p.Objects = append(p.Objects, ObjectInput{
				BatchID: in.BatchID, County: in.County, ObjectKey: key, Team: teams[key],
				InspectionEnd: in.InspectionEnd, Policy: in.Policy,
			})
		}
		if len(p.Objects) > 0 {
			parts = append(parts, p)
		}
	}
	return parts
}

// sortedKeys returns m's keys in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
