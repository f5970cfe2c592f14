package workflows

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// objectRun is the object workflow's state.
type objectRun struct {
	in    ObjectInput
	stage inspection.Stage
	seq   int
	team  []string
	// duties holds each planned deadline; busy the update being handled.
	duties map[string]*duty
	busy   string
	rearm  bool
	// localIO: the short writes run as local activities (withLocalIO).
	localIO bool
	// recorded is the seq of the last task row written: an entry is
	// answered once the row shows it, so that a read right after agrees.
	recorded int

	inspectedOn     *workday.Date
	result          *inspection.Result
	revision        int
	review          *inspection.Review
	approvedCode    string
	followUpDone    *workday.Date
	followUpEntered bool
	// transferred: the suspected crime was transferred; transferWatched
	// ends when its duty is met. The transfer's deadline runs beside
	// publication and follow-up, with its own re-arm flag.
	transferred     bool
	transferWatched bool
	rearmTransfer   bool
	// followUpWatched: the follow-up's completion deadline is watched
	// beside publication, with its own re-arm flag.
	followUpWatched bool
	rearmFollowUp   bool
}

// rearmOf is the re-arm flag of a duty's watcher: duties watched side by
// side each have their own, so that one extension wakes only its watcher.
func (o *objectRun) rearmOf(name string) *bool {
	switch name {
	case DutyJudicialTransfer:
		return &o.rearmTransfer
	case DutyFollowUp:
		return &o.rearmFollowUp
	}
	return &o.rearm
}

// io sets up ctx for the object's writes.
func (o *objectRun) io(ctx workflow.Context) workflow.Context {
	ctx = withIO(ctx)
	if o.localIO {
		ctx = withLocalIO(ctx)
	}
	return ctx
}

// newObjectRun takes over the inspection deadline its partition planned
// or watched, and the change number of a task row the partition wrote.
func newObjectRun(in ObjectInput) *objectRun {
	o := &objectRun{in: in, stage: inspection.Assigned, team: in.Team, duties: map[string]*duty{}}
	switch {
	case in.Opened != nil:
		d := in.Opened.Inspection
		o.duties[DutyInspection] = &d
		o.seq, o.recorded = in.Opened.Seq, in.Opened.Seq
	case in.InspectionPlan != nil:
		o.duties[DutyInspection] = &duty{Name: DutyInspection, Plan: *in.InspectionPlan, RemindAt: in.Policy.ReminderTime,
			Input: activities.PlanInput{Due: &in.InspectionEnd, ReminderOffsets: in.Policy.ReminderOffsets}}
	}
	return o
}

// register installs the object's query and the updates through which
// inspectors and officers report; each validator refuses an entry the
// object's stage does not allow, so illegal transitions never happen.
func (o *objectRun) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (ObjectState, error) { return o.state(), nil }); err != nil {
		return err
	}
	handlers := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateInspected, o.onInspected, o.checkInspected},
		{UpdateResult, o.onResult, o.checkResult},
		{UpdateReview, o.onReview, o.checkReview},
		{UpdateFollowUp, o.onFollowUp, o.checkFollowUp},
		{UpdateExtend, o.onExtend, o.checkExtend},
		{UpdateReplace, o.onReplace, o.checkReplace},
		{UpdateTransfer, o.onTransfer, o.checkTransfer},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, workflow.UpdateHandlerOptions{Validator: h.validator}); err != nil {
			return err
		}
	}
	return nil
}

func (o *objectRun) state() ObjectState {
	s := ObjectState{Stage: o.stage, Team: o.team, Deadlines: map[string]DeadlineStatus{}, Revision: o.revision}
	for name, d := range o.duties {
		s.Deadlines[name] = DeadlineStatus{Due: d.Plan.Due, Unscheduled: d.Plan.Unscheduled, Overdue: d.overdue(), Met: d.Met}
	}
	return s
}

func (o *objectRun) refuseWhileBusy() error {
	if o.busy != "" {
		return conflict("object %s is handling a %s entry; try again in a moment", o.in.ObjectKey, o.busy)
	}
	return nil
}

func (o *objectRun) checkInspected(ctx workflow.Context, r Inspected) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	if o.stage != inspection.Assigned {
		return conflict("object %s is %s; its inspection was already reported", o.in.ObjectKey, o.stage)
	}
	if !r.CompletedOn.IsValid() {
		return invalid(fault.Field("completed_on", "give the day the inspection was completed (YYYY-MM-DD)"))
	}
	if r.CompletedOn.After(workday.DateOf(workflow.Now(ctx))) {
		return invalid(fault.Field("completed_on", "%s is in the future", r.CompletedOn))
	}
	return o.checkActor(r.By)
}

func (o *objectRun) onInspected(ctx workflow.Context, r Inspected) error {
	d := r.CompletedOn
	o.inspectedOn = &d
	// Answer once the task has moved on, so that the caller's next entry
	// (the result) finds it ready.
	return workflow.Await(ctx, func() bool {
		_, planned := o.duties[DutyResultEntry]
		return planned && o.settled()
	})
}

func (o *objectRun) checkResult(ctx workflow.Context, r inspection.Result) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	if (o.stage != inspection.Inspected && o.stage != inspection.Returned) || o.result != nil {
		return conflict("object %s is %s and takes no result now", o.in.ObjectKey, o.stage)
	}
	if err := inspection.CheckResult(r, o.in.County, o.team); err != nil {
		return invalid(err)
	}
	return nil
}

func (o *objectRun) onResult(ctx workflow.Context, r inspection.Result) (int, error) {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateResult
	defer func() { o.busy = "" }()
	rec := activities.ResultRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, Revision: o.revision + 1, Result: r, At: workflow.Now(ctx)}
	if err := runIO(ctx, tasks.SaveResult, rec).Get(ctx, nil); err != nil {
		return 0, err
	}
	o.revision++
	o.result = &r
	o.busy = ""
	return o.revision, workflow.Await(ctx, func() bool { return o.stage == inspection.ResultEntered && o.settled() })
}

func (o *objectRun) checkReview(ctx workflow.Context, r inspection.Review) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	if o.stage != inspection.ResultEntered || o.review != nil {
		return conflict("object %s is %s; there is no result waiting for review", o.in.ObjectKey, o.stage)
	}
	if err := inspection.CheckReview(r, o.in.County); err != nil {
		return invalid(err)
	}
	return nil
}

func (o *objectRun) onReview(ctx workflow.Context, r inspection.Review) error {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateReview
	defer func() { o.busy = "" }()
	rec := activities.ReviewRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, Revision: o.revision, Review: r, At: workflow.Now(ctx)}
	if err := runIO(ctx, tasks.SaveReview, rec).Get(ctx, nil); err != nil {
		return err
	}
	if r.Approve {
		o.approvedCode = o.result.Code
	}
	o.review = &r
	o.busy = ""
	return workflow.Await(ctx, func() bool { return o.stage != inspection.ResultEntered && o.settled() })
}

func (o *objectRun) checkFollowUp(ctx workflow.Context, f inspection.FollowUpEntry) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	// A follow-up may be reported as soon as a result with problems is
	// approved, while its publication is still under way.
	open := o.stage == inspection.FollowUp ||
		(inspection.FindsProblem(o.approvedCode) && (o.stage == inspection.Approved || o.stage == inspection.Published))
	if !open || o.followUpEntered {
		return conflict("object %s is %s and has no open follow-up", o.in.ObjectKey, o.stage)
	}
	day, err := workday.ParseDate(f.CompletedOn)
	if err != nil {
		return invalid(fault.Field("completed_on", "give the day the follow-up was completed (YYYY-MM-DD)"))
	}
	if day.After(workday.DateOf(workflow.Now(ctx))) {
		return invalid(fault.Field("completed_on", "%s is in the future", day))
	}
	if o.inspectedOn != nil && day.Before(*o.inspectedOn) {
		return invalid(fault.Field("completed_on", "%s is before the inspection that found the problems (%s)", day, *o.inspectedOn))
	}
	if o.followUpDone != nil && *o.followUpDone != day {
		return invalid(fault.Field("completed_on", "the follow-up was reported completed on %s", *o.followUpDone))
	}
	if len(f.Actions) == 0 && o.followUpDone != nil {
		return conflict("the follow-up of object %s is already reported completed; enter its actions", o.in.ObjectKey)
	}
	if len(f.Actions) == 0 {
		return o.checkActor(f.EnteredBy)
	}
	if err := inspection.CheckFollowUp(f, o.in.County, o.team); err != nil {
		return invalid(err)
	}
	return nil
}

// onFollowUp takes the follow-up's completion day (which starts the
// 15-working-day entry limit) and, when given, its actions (the entry).
func (o *objectRun) onFollowUp(ctx workflow.Context, f inspection.FollowUpEntry) error {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateFollowUp
	defer func() { o.busy = "" }()
	day, _ := workday.ParseDate(f.CompletedOn)
	rec := activities.FollowUpRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, Entry: f, CompletedOn: day, At: workflow.Now(ctx)}
	if err := runIO(ctx, tasks.SaveFollowUp, rec).Get(ctx, nil); err != nil {
		return err
	}
	o.followUpDone = &day
	o.followUpEntered = len(f.Actions) > 0
	o.busy = ""
	if o.stage != inspection.FollowUp {
		return nil // the lifecycle reaches the follow-up after publication
	}
	return workflow.Await(ctx, func() bool {
		_, planned := o.duties[DutyFollowUpEntry]
		return planned && (!o.followUpEntered || o.stage == inspection.Closed)
	})
}

func (o *objectRun) checkExtend(ctx workflow.Context, e Extension) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	d, ok := o.duties[e.Duty]
	if !ok || d.Met {
		return conflict("object %s has no open %s deadline to extend", o.in.ObjectKey, e.Duty)
	}
	if d.Plan.Due == nil {
		return conflict("the %s deadline of object %s has no date yet (the calendar lacks its year)", e.Duty, o.in.ObjectKey)
	}
	var ps []fault.Problem
	if p := lifecycle.DutyDaysProblem("working_days", e.WorkingDays); p != nil {
		ps = append(ps, *p)
	}
	if len(e.Reason) == 0 {
		ps = append(ps, fault.Problem{Field: "reason", Message: "say why the deadline is extended"})
	}
	ps = inspection.AppendText(ps, "reason", e.Reason, 2000)
	if e.By == "" {
		ps = append(ps, fault.Problem{Field: "by", Message: "name who extends the deadline"})
	}
	if err := fault.Invalids("the extension cannot be accepted", ps); err != nil {
		return invalid(err)
	}
	return nil
}

// onExtend moves a deadline and re-arms its timers; the reason is recorded.
func (o *objectRun) onExtend(ctx workflow.Context, e Extension) (workday.Date, error) {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateExtend
	defer func() { o.busy = "" }()
	d := o.duties[e.Duty]
	old := *d.Plan.Due
	var p activities.Plan
	in := activities.PlanInput{Start: &old, WorkingDays: e.WorkingDays, ReminderOffsets: o.in.Policy.ReminderOffsets}
	if err := runIO(ctx, deadlines.Plan, in).Get(ctx, &p); err != nil {
		return workday.Date{}, err
	}
	if p.Due == nil {
		return workday.Date{}, conflict("the calendar lacks the schedule of %d; the deadline cannot be extended into it yet", p.Unscheduled)
	}
	rec := activities.ExtensionRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, Duty: e.Duty,
		OldDue: old, NewDue: *p.Due, Reason: e.Reason, By: e.By, At: workflow.Now(ctx)}
	if err := runIO(ctx, tasks.SaveExtension, rec).Get(ctx, nil); err != nil {
		return workday.Date{}, err
	}
	d.Plan, d.Sent = p, 0
	*o.rearmOf(e.Duty) = true
	o.record(ctx)
	return *p.Due, nil
}

func (o *objectRun) checkReplace(ctx workflow.Context, r Replacement) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	if o.stage == inspection.Closed {
		return conflict("object %s is closed; its team no longer changes", o.in.ObjectKey)
	}
	if r.By.Role != "county_officer" || r.By.County != o.in.County {
		return rejectForbidden("only a county officer of %s replaces inspectors of its objects", o.in.County)
	}
	var ps []fault.Problem
	if !slices.Contains(o.team, r.InspectorKey) {
		ps = append(ps, fault.Problem{Field: "inspector_key", Message: fmt.Sprintf("%q is not on the team of object %s (team: %v)", r.InspectorKey, o.in.ObjectKey, o.team)})
	}
	if len(r.Reason) == 0 {
		ps = append(ps, fault.Problem{Field: "reason", Message: "say why the inspector is replaced"})
	}
	if err := fault.Invalids("the replacement cannot be accepted", ps); err != nil {
		return invalid(err)
	}
	return nil
}

// onReplace replaces one inspector by the next in the published match
// order (DRAW-SPEC §2, round + 1); results already entered stay.
func (o *objectRun) onReplace(ctx workflow.Context, r Replacement) (staffing.ReplaceResult, error) {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateReplace
	defer func() { o.busy = "" }()
	var res staffing.ReplaceResult
	in := staffing.ReplaceInput{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, InspectorKey: r.InspectorKey, Reason: r.Reason, By: r.By.String()}
	if err := workflow.ExecuteActivity(ctx, matcher.Replace, in).Get(ctx, &res); err != nil {
		return res, err
	}
	o.team = res.Team
	o.record(ctx)
	return res, nil
}

func (o *objectRun) checkTransfer(ctx workflow.Context, t JudicialTransfer) error {
	if err := o.refuseWhileBusy(); err != nil {
		return err
	}
	if o.approvedCode == "" || o.result == nil || !o.result.SuspectedCrime {
		return conflict("object %s has no approved result marked as a suspected crime: there is nothing to transfer", o.in.ObjectKey)
	}
	if o.transferred {
		return conflict("the transfer of object %s to the judicial organs is already recorded", o.in.ObjectKey)
	}
	if t.By.Role != "county_officer" || t.By.County != o.in.County {
		return rejectForbidden("only a county officer of %s records the transfer of its cases", o.in.County)
	}
	var ps []fault.Problem
	if n := utf8.RuneCountInString(strings.TrimSpace(t.Organ)); n == 0 || n > 200 {
		ps = append(ps, fault.Problem{Field: "organ", Message: "name the judicial organ that received the case (at most 200 characters), e.g. 嘉兴市公安局南湖区分局"})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(t.DocumentNo)); n == 0 || n > 100 {
		ps = append(ps, fault.Problem{Field: "document_no", Message: "give the transfer document's number (at most 100 characters)"})
	}
	switch {
	case !t.TransferredOn.IsValid():
		ps = append(ps, fault.Problem{Field: "transferred_on", Message: "give the day of the transfer (YYYY-MM-DD)"})
	case t.TransferredOn.After(workday.DateOf(workflow.Now(ctx))):
		ps = append(ps, fault.Problem{Field: "transferred_on", Message: fmt.Sprintf("%s is in the future", t.TransferredOn)})
	case o.inspectedOn != nil && t.TransferredOn.Before(*o.inspectedOn):
		ps = append(ps, fault.Problem{Field: "transferred_on", Message: fmt.Sprintf("%s is before the inspection (%s)", t.TransferredOn, *o.inspectedOn)})
	}
	if err := fault.Invalids("the transfer cannot be recorded", ps); err != nil {
		return invalid(err)
	}
	return nil
}

func (o *objectRun) onTransfer(ctx workflow.Context, t JudicialTransfer) error {
	ctx = o.io(ctx) // handlers run on the root context
	o.busy = UpdateTransfer
	defer func() { o.busy = "" }()
	rec := activities.TransferRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, Organ: strings.TrimSpace(t.Organ),
		TransferredOn: t.TransferredOn, DocumentNo: strings.TrimSpace(t.DocumentNo), By: t.By.String(), At: workflow.Now(ctx)}
	if err := runIO(ctx, tasks.SaveTransfer, rec).Get(ctx, nil); err != nil {
		return err
	}
	o.transferred = true
	return nil
}

func (o *objectRun) checkActor(a inspection.Actor) error {
	switch {
	case a.Role == "county_officer" && a.County == o.in.County:
		return nil
	case a.Role == "inspector":
		for _, k := range o.team {
			if k == a.InspectorKey {
				return nil
			}
		}
	}
	return rejectForbidden("only an inspector matched to object %s or a county officer of %s may report on it", o.in.ObjectKey, o.in.County)
}

// plan computes a duty's deadline; awaitDuty then watches it.
func (o *objectRun) plan(ctx workflow.Context, name string, in activities.PlanInput) {
	o.duties[name] = planDuty(ctx, name, in, o.in.Policy)
	o.record(ctx)
}

// awaitDuty waits until done, reminding the county before the deadline and
// escalating when it passes; a duty met late is resolved in the ledger with
// the working days it was late.
func (o *objectRun) awaitDuty(ctx workflow.Context, name string, done func() bool) error {
	d := o.duties[name]
	hooks := dutyHooks{
		remind: func(ctx workflow.Context, d *duty, day workday.Date) {
			o.notice(ctx, fmt.Sprintf("reminder/%s/%s/%s/%s", o.in.BatchID, o.in.ObjectKey, name, day), "county_officer", "reminder",
				fmt.Sprintf("批次 %s 检查对象 %s：%s期限为 %s，请按时完成", o.in.BatchID, o.in.ObjectKey, dutyChinese[name], d.Plan.Due))
		},
		lapse: func(ctx workflow.Context, d *duty) {
			due := *d.Plan.Due
			escalate(ctx, activities.Lapse{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, County: o.in.County, Duty: name, Due: due}, o.in.ObjectKey,
				fmt.Sprintf("批次 %s 检查对象 %s：%s 未在 %s 前完成%s，已记入问责台账", o.in.BatchID, o.in.ObjectKey, o.in.County, due, dutyChinese[name]), o.notice)
			o.move(ctx, o.stage) // records the overdue flag and tells the county
		},
		flag: func(ctx workflow.Context, d *duty) {
			o.notice(ctx, fmt.Sprintf("calendar-missing/%s/%s/%s", o.in.BatchID, o.in.ObjectKey, name), "city_coordinator", "calendar",
				fmt.Sprintf("工作日历缺少 %d 年安排，批次 %s 检查对象 %s 的%s期限无法计算，请管理员补充", d.Plan.Unscheduled, o.in.BatchID, o.in.ObjectKey, dutyChinese[name]))
		},
	}
	if err := watchDuty(ctx, d, done, o.rearmOf(name), hooks); err != nil {
		return err
	}
	// An update handler may still be writing; the stage moves after it.
	if err := workflow.Await(ctx, func() bool { return o.busy == "" }); err != nil {
		return err
	}
	for _, lapsed := range d.Lapsed {
		l := activities.Lapse{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, County: o.in.County, Duty: name, Due: lapsed}
		// A follow-up is met the day it was completed, which may precede
		// the day it is reported: an entry opened for want of the report
		// then says how late the follow-up itself was (0: on time).
		if name == DutyFollowUp && o.followUpDone != nil && o.followUpDone.Before(workday.DateOf(workflow.Now(ctx))) {
			resolveOn(ctx, l, *o.followUpDone)
			continue
		}
		resolve(ctx, l)
	}
	return nil
}

// move sets the stage, writes the task row and tells the county.
func (o *objectRun) move(ctx workflow.Context, s inspection.Stage) {
	o.stage = s
	o.record(ctx)
	overdue := map[string]bool{}
	for name, d := range o.duties {
		if d.overdue() {
			overdue[name] = true
		}
	}
	ev := StageEvent{ObjectKey: o.in.ObjectKey, Stage: s, Overdue: overdue}
	if err := workflow.SignalExternalWorkflow(ctx, CountyWorkflowID(o.in.BatchID, o.in.County), "", signalObjectStage, ev).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("tell county", "object", o.in.ObjectKey, "error", err)
	}
}

// record writes the task row as it stands.
func (o *objectRun) record(ctx workflow.Context) {
	o.seq++
	r := activities.TaskRecord{BatchID: o.in.BatchID, ObjectKey: o.in.ObjectKey, County: o.in.County, Seq: o.seq,
		Stage: o.stage, Team: o.team, InspectedOn: o.inspectedOn, Overdue: []string{}}
	dueOf := func(name string) *workday.Date {
		if d, ok := o.duties[name]; ok {
			return d.Plan.Due
		}
		return nil
	}
	r.InspectionDue, r.ResultDue = dueOf(DutyInspection), dueOf(DutyResultEntry)
	r.FollowUpDue, r.PublicationDue = dueOf(DutyFollowUpEntry), dueOf(DutyPublication)
	r.FollowUpCompletionDue = dueOf(DutyFollowUp)
	for _, name := range sortedKeys(o.duties) {
		d := o.duties[name]
		if d.overdue() {
			r.Overdue = append(r.Overdue, name)
		}
		if y := d.Plan.Unscheduled; !d.Met && y != 0 && (r.UnscheduledYear == 0 || y < r.UnscheduledYear) {
			r.UnscheduledYear = y
		}
	}
	if err := runIO(ctx, tasks.Record, r).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record task", "object", o.in.ObjectKey, "error", err)
	}
	o.recorded = r.Seq
}

// settled reports whether the task row shows everything decided so far.
func (o *objectRun) settled() bool { return o.recorded == o.seq }

func (o *objectRun) notice(ctx workflow.Context, id, role, kind, text string) {
	send(ctx, notice{ID: id, BatchID: o.in.BatchID, County: o.in.County, ObjectKey: o.in.ObjectKey, Role: role, Kind: kind, Text: text})
}
