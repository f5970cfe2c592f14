package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// A reminder goes out at the policy's time of day (China time) on its day;
// a deadline passes at the end of its due day.
func lapseAt(d workday.Date) time.Time { return d.AddDays(1).Start() }

// duty is one deadline being watched: how it was planned, which reminders
// went out, and the due days that passed unmet (an extension can add one).
type duty struct {
	Name    string               `json:"name"`
	Input   activities.PlanInput `json:"input"`
	Plan    activities.Plan      `json:"plan"`
	Sent    int                  `json:"sent"`
	Lapsed  []workday.Date       `json:"lapsed,omitempty"`
	Flagged bool                 `json:"flagged,omitempty"`
	// RemindAt is the time of day reminders go out.
	RemindAt time.Duration `json:"remind_at"`
	Met      bool          `json:"met,omitempty"`
}

func (d *duty) overdue() bool { return !d.Met && len(d.Lapsed) > 0 }

func (d *duty) lapsedNow() bool {
	return d.Plan.Due != nil && len(d.Lapsed) > 0 && d.Lapsed[len(d.Lapsed)-1] == *d.Plan.Due
}

// dutyHooks are what a watcher does when a reminder is due, when the
// deadline passes, and when the calendar cannot say when it is.
type dutyHooks struct {
	remind func(ctx workflow.Context, d *duty, day workday.Date)
	lapse  func(ctx workflow.Context, d *duty)
	flag   func(ctx workflow.Context, d *duty)
}

// watchDuty waits until done holds, sending each reminder on its day and
// escalating once when the deadline passes. An extension replaces d.Plan
// and sets *rearm, which re-arms the timers. A deadline in a year without
// a holiday schedule is flagged and planned again daily until the
// administrator adds the year.
func watchDuty(ctx workflow.Context, d *duty, done func() bool, rearm *bool, h dutyHooks) error {
	wake := func() bool { return done() || *rearm }
	for !done() {
		if d.Plan.Due == nil {
			if !d.Flagged {
				h.flag(ctx, d)
				d.Flagged = true
			}
			ok, err := workflow.AwaitWithTimeout(ctx, 24*time.Hour, wake)
			if err != nil {
				return err
			}
			*rearm = false
			if !ok {
				_ = workflow.ExecuteActivity(ctx, deadlines.Plan, d.Input).Get(ctx, &d.Plan)
			}
			continue
		}
		now := workflow.Now(ctx)
		today := workday.DateOf(now)
		// Reminders whose day has gone (a deadline planned late, or moved)
		// are not sent after the fact.
		for d.Sent < len(d.Plan.Reminders) && d.Plan.Reminders[d.Sent].Before(today) {
			d.Sent++
		}
		var at time.Time
		reminder := d.Sent < len(d.Plan.Reminders)
		switch {
		case reminder:
			at = d.Plan.Reminders[d.Sent].Start().Add(d.RemindAt)
		case !d.lapsedNow():
			at = lapseAt(*d.Plan.Due)
		default:
			if err := workflow.Await(ctx, wake); err != nil {
				return err
			}
			*rearm = false
			continue
		}
		if wait := at.Sub(now); wait > 0 {
			ok, err := workflow.AwaitWithTimeout(ctx, wait, wake)
			if err != nil {
				return err
			}
			if ok {
				*rearm = false
				continue
			}
		}
		if reminder {
			h.remind(ctx, d, d.Plan.Reminders[d.Sent])
			d.Sent++
			continue
		}
		d.Lapsed = append(d.Lapsed, *d.Plan.Due)
		h.lapse(ctx, d)
	}
	// An entry whose deadline had passed before it was even planned (a
	// follow-up reported completed weeks ago, entered today) is late though
	// no timer saw it lapse. Versioned: histories from before the rule
	// replay as they ran.
	if d.Plan.Due != nil && len(d.Lapsed) == 0 && workday.DateOf(workflow.Now(ctx)).After(*d.Plan.Due) &&
		workflow.GetVersion(ctx, "late-on-arrival", workflow.DefaultVersion, 1) == 1 {
		d.Lapsed = append(d.Lapsed, *d.Plan.Due)
		h.lapse(ctx, d)
	}
	d.Met = true
	return nil
}

// planDuty computes a deadline through the calendar activity.
func planDuty(ctx workflow.Context, name string, in activities.PlanInput, p lifecycle.Policy) *duty {
	in.ReminderOffsets = p.ReminderOffsets
	d := &duty{Name: name, Input: in, RemindAt: p.ReminderTime}
	if err := runIO(ctx, deadlines.Plan, in).Get(ctx, &d.Plan); err != nil {
		// A plan that cannot be made at all is treated like a missing
		// calendar: flagged, and tried again daily.
		workflow.GetLogger(ctx).Error("plan deadline", "duty", name, "error", err)
	}
	return d
}
