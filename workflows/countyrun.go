package workflows

import (
	"fmt"
	"maps"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// countyRun is the county workflow's state.
type countyRun struct {
	in       CountyInput
	phase    string
	objects  map[string]inspection.Stage
	overdue  map[string]map[string]bool
	teams    map[string][]string
	changed  bool
	matching bool // a match is running
	matched  bool
	rearm    bool
	// By reference (CountyInput.byReference): the objects set aside at the
	// match, and the county's progress as last counted in the database,
	// instead of a stage per object.
	setAside []string
	last     *lifecycle.CountyProgress
}

func newCountyRun(in CountyInput) *countyRun {
	c := &countyRun{in: in, phase: "starting", objects: map[string]inspection.Stage{}, overdue: map[string]map[string]bool{}}
	for _, k := range in.Objects {
		c.objects[k] = inspection.AwaitingMatch
	}
	if r := in.Resume; r != nil {
		c.phase, c.objects, c.overdue, c.teams, c.last, c.changed = r.Phase, r.Objects, r.Overdue, r.Teams, r.Progress, r.Changed
	}
	return c
}

// apply takes an object's move: by reference, only that there is news to
// count.
func (c *countyRun) apply(e StageEvent) {
	c.changed = true
	if c.in.byReference() {
		return
	}
	c.objects[e.ObjectKey] = e.Stage
	c.overdue[e.ObjectKey] = e.Overdue
}

// size is how many objects the county received.
func (c *countyRun) size() int {
	if c.in.byReference() {
		return c.in.Count
	}
	return len(c.in.Objects)
}

func (c *countyRun) allClosed() bool {
	if c.phase != "tracking" {
		return false
	}
	if c.in.byReference() {
		return c.last != nil && c.last.Stages[inspection.Closed]+c.last.Stages[inspection.SetAside] >= c.in.Count
	}
	for _, s := range c.objects {
		if !inspection.Final(s) {
			return false
		}
	}
	return true
}

func (c *countyRun) progress() lifecycle.CountyProgress {
	p := lifecycle.CountyProgress{County: c.in.County, Phase: c.phase, Objects: len(c.objects),
		Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}, Done: c.phase == "done"}
	switch {
	case c.in.byReference() && c.last != nil:
		p.Objects, p.CountyName = c.in.Count, c.last.CountyName
		maps.Copy(p.Stages, c.last.Stages)
		maps.Copy(p.Overdue, c.last.Overdue)
	case c.in.byReference():
		p.Objects, p.Stages[inspection.AwaitingMatch] = c.in.Count, c.in.Count
	}
	for _, s := range c.objects {
		p.Stages[s]++
	}
	for _, duties := range c.overdue {
		for d, late := range duties {
			if late {
				p.Overdue[d]++
			}
		}
	}
	if c.phase == "awaiting_match" && c.rearm {
		p.Overdue[DutyMatching]++
	}
	return p
}

func (c *countyRun) snapshot() *countyState {
	return &countyState{Phase: c.phase, Objects: c.objects, Overdue: c.overdue, Teams: c.teams, Progress: c.last, Changed: c.changed}
}

// reportProgress tells the batch workflow where the county stands; by
// reference, as the database counts it now.
func (c *countyRun) reportProgress(ctx workflow.Context) {
	c.changed = false
	if c.in.byReference() {
		var p lifecycle.CountyProgress
		if err := workflow.ExecuteActivity(withBulk(ctx), progressor.CountyProgress, activities.CountyRef{BatchID: c.in.BatchID, County: c.in.County}).Get(ctx, &p); err != nil {
			workflow.GetLogger(ctx).Warn("count county progress", "county", c.in.County, "error", err)
		} else {
			c.last = &p
		}
	}
	err := workflow.SignalExternalWorkflow(ctx, BatchWorkflowID(c.in.BatchID), "", signalCountyUpdate, c.progress()).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("report county progress", "county", c.in.County, "error", err)
	}
}

// acceptMatch takes the county's match by Update from the start, so that
// a county officer who matches at once is not turned away.
func (c *countyRun) acceptMatch(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateMatch,
		func(ctx workflow.Context, r MatchRequest) (staffing.MatchResult, error) {
			return c.runMatch(withIO(ctx), staffing.MatchInput{BatchID: c.in.BatchID, County: c.in.County, Beacon: r.Beacon, By: r.By.String(), InspectionEnd: c.in.InspectionEnd})
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, r MatchRequest) error {
			switch {
			case c.phase == "starting":
				return notReady("county %s of batch %s is starting: its match opens in a moment; try again", c.in.County, c.in.BatchID)
			case c.matching:
				return conflict("the inspectors of county %s in batch %s are being matched now", c.in.County, c.in.BatchID)
			case c.matched || c.phase != "awaiting_match":
				return conflict("the inspectors of county %s in batch %s are already matched (the county is %s)", c.in.County, c.in.BatchID, phaseWords[c.phase])
			}
			if r.By.Role != "county_officer" || r.By.County != c.in.County {
				return rejectForbidden("only a county officer of %s runs its match", c.in.County)
			}
			return nil
		}})
}

// runMatch runs the match activity once at a time and keeps the teams.
func (c *countyRun) runMatch(ctx workflow.Context, req staffing.MatchInput) (staffing.MatchResult, error) {
	c.matching = true
	defer func() { c.matching = false }()
	var res staffing.MatchResult
	if err := workflow.ExecuteActivity(ctx, matcher.Match, req).Get(ctx, &res); err != nil {
		return res, err
	}
	c.matched = true
	// Objects nobody of the county may inspect were set aside before the
	// match: final here, the city's exceptions. By reference, the teams
	// are read page by page when tracking starts.
	if c.in.byReference() {
		c.setAside, c.changed = res.SetAside, true
		return res, nil
	}
	c.teams = res.Teams
	for _, k := range res.SetAside {
		c.objects[k] = inspection.SetAside
		c.changed = true
	}
	return res, nil
}

// setAsideKeys lists the objects set aside at the match, in key order.
func (c *countyRun) setAsideKeys() []string {
	if c.in.byReference() {
		return slices.Sorted(slices.Values(c.setAside))
	}
	var keys []string
	for _, k := range sortedKeys(c.objects) {
		if c.objects[k] == inspection.SetAside {
			keys = append(keys, k)
		}
	}
	return keys
}

// awaitMatch waits for the county's match (Update "match"), and runs it
// itself when the county has not within AutoMatchDays working days. A match
// that cannot staff every object assigns nothing and is escalated to the
// city coordinator; the county can match again after fixing its pool.
func (c *countyRun) awaitMatch(ctx workflow.Context) (map[string][]string, error) {
	today := workday.DateOf(workflow.Now(ctx))
	d := planDuty(ctx, DutyMatching, activities.PlanInput{Start: &today, WorkingDays: c.in.Policy.AutoMatchDays}, c.in.Policy)
	hooks := dutyHooks{
		remind: func(ctx workflow.Context, d *duty, day workday.Date) {
			c.notice(ctx, fmt.Sprintf("reminder/%s/%s/matching/%s", c.in.BatchID, c.in.County, day), "county_officer", "reminder",
				fmt.Sprintf("批次 %s：请于 %s 前完成执法检查人员随机匹配，逾期将由系统自动匹配", c.in.BatchID, d.Plan.Due))
		},
		lapse: func(ctx workflow.Context, d *duty) {
			c.rearm = true // counted as overdue in progress until matched
			c.escalate(ctx, d)
			if _, err := c.runMatch(ctx, staffing.MatchInput{BatchID: c.in.BatchID, County: c.in.County, Auto: true, By: "system:auto-match", InspectionEnd: c.in.InspectionEnd}); err != nil {
				c.notice(ctx, fmt.Sprintf("auto-match-failed/%s/%s", c.in.BatchID, c.in.County), "city_coordinator", "escalation",
					fmt.Sprintf("批次 %s %s 自动匹配失败：%v", c.in.BatchID, c.in.County, err))
			}
		},
		flag: func(ctx workflow.Context, d *duty) {
			c.notice(ctx, fmt.Sprintf("calendar-missing/%s/%s/matching", c.in.BatchID, c.in.County), "city_coordinator", "calendar",
				fmt.Sprintf("工作日历缺少 %d 年安排，批次 %s 的匹配期限无法计算，请管理员补充", d.Plan.Unscheduled, c.in.BatchID))
		},
	}
	never := false
	if err := watchDuty(ctx, d, func() bool { return c.matched }, &never, hooks); err != nil {
		return nil, err
	}
	if err := workflow.Await(ctx, func() bool { return !c.matching }); err != nil {
		return nil, err
	}
	for _, lapsed := range d.Lapsed {
		resolve(ctx, activities.Lapse{BatchID: c.in.BatchID, County: c.in.County, Duty: DutyMatching, Due: lapsed})
	}
	c.rearm = false
	return c.teams, nil
}

// escalate tells the county head and the city coordinator that a county
// duty is late, and writes it into the accountability ledger.
func (c *countyRun) escalate(ctx workflow.Context, d *duty) {
	due := *d.Plan.Due
	escalate(ctx, activities.Lapse{BatchID: c.in.BatchID, County: c.in.County, Duty: d.Name, Due: due}, c.in.County,
		fmt.Sprintf("批次 %s：%s 未在 %s 前完成%s，已记入问责台账", c.in.BatchID, c.in.County, due, dutyChinese[d.Name]), c.notice)
}

func (c *countyRun) notice(ctx workflow.Context, id, role, kind, text string) {
	send(ctx, notice{ID: id, BatchID: c.in.BatchID, County: c.in.County, Role: role, Kind: kind, Text: text})
}

// resolve records when a late duty was finally met.
func resolve(ctx workflow.Context, l activities.Lapse) {
	resolveOn(ctx, l, workday.DateOf(workflow.Now(ctx)))
}

// resolveOn resolves a lapse as met on the given day.
func resolveOn(ctx workflow.Context, l activities.Lapse, on workday.Date) {
	l.At = workflow.Now(ctx)
	if err := workflow.ExecuteActivity(ctx, tasks.ResolveAccountability, activities.Resolution{Lapse: l, On: on}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("cannot resolve the accountability entry", "batch", l.BatchID, "county", l.County,
			"object", l.ObjectKey, "duty", l.Duty, "due", l.Due.String(), "error", err)
	}
}

// escalate writes a lapsed duty into the accountability ledger and tells
// the county head and the city coordinator (subject names the county or
// the object in the notices' IDs). An entry that cannot be written (its
// activity failed past its retries) is logged and the escalation still
// goes out: people must hear of a lapse even when the ledger is down.
func escalate(ctx workflow.Context, l activities.Lapse, subject, text string, notice func(ctx workflow.Context, id, role, kind, text string)) {
	l.At = workflow.Now(ctx)
	if err := workflow.ExecuteActivity(ctx, tasks.OpenAccountability, l).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("cannot open the accountability entry; escalating without it", "batch", l.BatchID,
			"county", l.County, "object", l.ObjectKey, "duty", l.Duty, "due", l.Due.String(), "error", err)
	}
	for _, role := range []string{"county_head", "city_coordinator"} {
		notice(ctx, fmt.Sprintf("escalation/%s/%s/%s/%s/%s", l.BatchID, subject, l.Duty, l.Due, role), role, "escalation", text)
	}
}

// dutyChinese names the duties in messages.
var dutyChinese = inspection.DutyNames
