package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// pageRun is a partition's state when it opens its objects on demand: an
// object's own workflow starts at its first report (Update "open", sent
// by the API before the report). Until then the partition watches the
// inspection deadline, the same for every object of the batch, for all the
// page's unopened objects at once, so that tracking a page costs a few
// dozen history events instead of a workflow per object.
type pageRun struct {
	in      PartitionInput
	id      string
	objects []ObjectInput
	ready   bool
	opened  map[string]workflow.ChildWorkflowFuture
	// inspection is the shared deadline as it stands for the unopened
	// objects; an object opened takes a copy. seq is their task rows'
	// change number.
	inspection *duty
	seq        int
	// sweeping: a lapse of the unopened objects is being written; an open
	// waits for it, so that the object takes the lapse with it.
	sweeping bool
}

func newPageRun(ctx workflow.Context, in PartitionInput) *pageRun {
	return &pageRun{in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID, opened: map[string]workflow.ChildWorkflowFuture{}}
}

// run assigns the page's tasks in one write (its reads and writes of the
// whole page on the bulk queue) and watches their inspection
// deadline until every object is opened, then waits for the objects.
func (p *pageRun) run(ctx workflow.Context) error {
	ctx = withIO(ctx)
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOpen, p.open,
		workflow.UpdateHandlerOptions{Validator: p.checkOpen}); err != nil {
		return err
	}
	objects, err := readPage(withBulk(ctx), p.in)
	if err != nil {
		return err
	}
	p.objects = objects
	p.inspection = planDuty(ctx, DutyInspection, activities.PlanInput{Due: &p.in.InspectionEnd}, *p.in.Policy)
	p.seq = 1
	assign := activities.PageAssignment{BatchID: p.in.BatchID, County: p.in.County, Keys: p.unopened(), Tracker: p.id, Seq: p.seq,
		InspectionDue: p.inspection.Plan.Due, UnscheduledYear: p.inspection.Plan.Unscheduled}
	if err := workflow.ExecuteActivity(withBulk(ctx), tasks.AssignPage, assign).Get(ctx, nil); err != nil {
		return fmt.Errorf("assign page %d of county %s: %w", p.in.Page, p.in.County, err)
	}
	p.ready = true
	p.tellCounty(ctx)

	never := false
	hooks := dutyHooks{remind: p.remind, lapse: p.lapse, flag: p.flag}
	if err := watchDuty(ctx, p.inspection, func() bool { return len(p.opened) == len(p.objects) }, &never, hooks); err != nil {
		return err
	}
	var errs []error
	for _, o := range p.objects {
		if err := p.opened[o.ObjectKey].Get(ctx, nil); err != nil {
			errs = append(errs, fmt.Errorf("object %s: %w", o.ObjectKey, err))
		}
	}
	return errors.Join(errs...)
}

// checkOpen refuses an object of another page. Until the page is read and
// assigned it cannot tell: the open then waits for the page (the task
// rows show the objects assigned a moment before the partition knows).
func (p *pageRun) checkOpen(_ workflow.Context, key string) error {
	if p.ready {
		return p.onPage(key)
	}
	return nil
}

func (p *pageRun) onPage(key string) error {
	if p.index(key) < 0 {
		return rejection(fault.New(fault.NotFound, "object %s is not among the objects %s tracks", key, p.id))
	}
	return nil
}

// open starts the object's workflow, once, with its inspection deadline
// as the page has watched it; it answers when the workflow is running.
func (p *pageRun) open(ctx workflow.Context, key string) error {
	if err := workflow.Await(ctx, func() bool { return p.ready && !p.sweeping }); err != nil {
		return err
	}
	if err := p.onPage(key); err != nil {
		return err
	}
	f, ok := p.opened[key]
	if !ok {
		o := p.objects[p.index(key)]
		d := *p.inspection
		d.Lapsed = slices.Clone(d.Lapsed)
		o.Opened = &OpenedObject{Inspection: d, Seq: p.seq}
		child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ObjectWorkflowID(o.BatchID, o.ObjectKey)})
		f = workflow.ExecuteChildWorkflow(child, ObjectWorkflow, o)
		p.opened[key] = f
	}
	return f.GetChildWorkflowExecution().Get(ctx, nil)
}

func (p *pageRun) index(key string) int {
	return slices.IndexFunc(p.objects, func(o ObjectInput) bool { return o.ObjectKey == key })
}

// unopened lists the objects the page still watches, in drawn order.
func (p *pageRun) unopened() []string {
	var keys []string
	for _, o := range p.objects {
		if _, ok := p.opened[o.ObjectKey]; !ok {
			keys = append(keys, o.ObjectKey)
		}
	}
	return keys
}

// remind tells the county how many of the page's objects are still to be
// inspected: one message for the page, not one per object.
func (p *pageRun) remind(ctx workflow.Context, d *duty, day workday.Date) {
	n := len(p.unopened())
	if n == 0 {
		return
	}
	p.notice(ctx, fmt.Sprintf("reminder/%s/%s/inspection/%s", p.in.BatchID, p.subject(), day), "county_officer", "reminder",
		fmt.Sprintf("批次 %s：本辖区尚有 %d 个检查对象未报告检查完成，检查期限为 %s，请按时完成", p.in.BatchID, n, d.Plan.Due))
}

// lapse writes a ledger entry for every unopened object in one activity
// and escalates once for the page. An entry that cannot be written is
// logged and the escalation still goes out, as for a single object.
func (p *pageRun) lapse(ctx workflow.Context, d *duty) {
	keys := p.unopened()
	if len(keys) == 0 {
		return
	}
	p.sweeping = true
	defer func() { p.sweeping = false }()
	p.seq++
	due := *d.Plan.Due
	l := activities.PageLapse{BatchID: p.in.BatchID, County: p.in.County, Keys: keys, Duty: DutyInspection, Due: due, Seq: p.seq, At: workflow.Now(ctx)}
	if err := workflow.ExecuteActivity(withBulk(ctx), tasks.OpenPageAccountability, l).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("cannot open the accountability entries; escalating without them", "batch", p.in.BatchID,
			"county", p.in.County, "page", p.in.Page, "objects", len(keys), "due", due.String(), "error", err)
	}
	text := fmt.Sprintf("批次 %s：%s 有 %d 个检查对象未在 %s 前完成检查，已记入问责台账", p.in.BatchID, p.in.County, len(keys), due)
	for _, role := range []string{"county_head", "city_coordinator"} {
		p.notice(ctx, fmt.Sprintf("escalation/%s/%s/inspection/%s/%s", p.in.BatchID, p.subject(), due, role), role, "escalation", text)
	}
	p.tellCounty(ctx)
}

func (p *pageRun) flag(ctx workflow.Context, d *duty) {
	p.notice(ctx, fmt.Sprintf("calendar-missing/%s/%s/inspection", p.in.BatchID, p.subject()), "city_coordinator", "calendar",
		fmt.Sprintf("工作日历缺少 %d 年安排，批次 %s %s 的检查期限无法计算，请管理员补充", d.Plan.Unscheduled, p.in.BatchID, p.in.County))
}

// subject names the page in notice IDs.
func (p *pageRun) subject() string { return fmt.Sprintf("%s/part/%d", p.in.County, p.in.Page) }

func (p *pageRun) notice(ctx workflow.Context, id, role, kind, text string) {
	send(ctx, notice{ID: id, BatchID: p.in.BatchID, County: p.in.County, Role: role, Kind: kind, Text: text})
}

// tellCounty asks the county to count its progress again.
func (p *pageRun) tellCounty(ctx workflow.Context) {
	if err := workflow.SignalExternalWorkflow(ctx, CountyWorkflowID(p.in.BatchID, p.in.County), "", signalObjectStage, StageEvent{}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("tell county", "page", p.in.Page, "error", err)
	}
}
