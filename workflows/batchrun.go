package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
)

// batchRun is the batch workflow's state.
type batchRun struct {
	in       lifecycle.BatchInput
	phase    string
	beacon   *string
	counties map[string]*lifecycle.CountyProgress
}

func newBatchRun(in lifecycle.BatchInput) *batchRun {
	b := &batchRun{in: in, phase: "created", counties: map[string]*lifecycle.CountyProgress{}}
	if r := in.Resume; r != nil {
		b.phase, b.beacon = r.Phase, r.Beacon
		for i := range r.Counties {
			c := r.Counties[i]
			b.counties[c.County] = &c
		}
	}
	return b
}

// acceptBeacon takes the beacon by Update, only while the batch awaits it:
// before the population is frozen a beacon could steer the draw, after the
// draw it is too late.
func (b *batchRun) acceptBeacon(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateBeacon,
		func(ctx workflow.Context, beacon string) (string, error) {
			b.beacon = &beacon
			return beacon, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, beacon string) error {
			switch {
			case b.phase == "created" || b.phase == "freezing":
				return notReady("batch %s is still freezing its population; the beacon is taken once it is frozen, in a moment", b.in.BatchID)
			case b.phase != "awaiting_beacon" || b.beacon != nil:
				return conflict("batch %s is %s and takes no beacon now; a beacon is taken once the population is frozen and before the draw", b.in.BatchID, phaseWords[b.phase])
			}
			if err := draw.ValidateText("beacon", beacon); err != nil {
				return invalid(err)
			}
			return nil
		}})
}

// awaitBeacon waits for the beacon until wait has passed; then the draw
// proceeds with an empty beacon and rests on the commitment alone.
func (b *batchRun) awaitBeacon(ctx workflow.Context, wait time.Duration) (string, error) {
	if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return b.beacon != nil }); err != nil {
		return "", err
	}
	if b.beacon == nil {
		empty := ""
		b.beacon = &empty
	}
	return *b.beacon, nil
}

func (b *batchRun) apply(p lifecycle.CountyProgress) { b.counties[p.County] = &p }

func (b *batchRun) allDone() bool {
	if len(b.counties) == 0 {
		return false
	}
	for _, c := range b.counties {
		if !c.Done {
			return false
		}
	}
	return true
}

func (b *batchRun) progress() lifecycle.BatchProgress {
	p := lifecycle.BatchProgress{BatchID: b.in.BatchID, Phase: b.phase, Beacon: b.beacon,
		Counties: []lifecycle.CountyProgress{},
		Total:    lifecycle.CountyProgress{County: "total", Phase: b.phase, Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}}
	for _, code := range sortedKeys(b.counties) {
		c := *b.counties[code]
		p.Counties = append(p.Counties, c)
		p.Total.Objects += c.Objects
		for s, n := range c.Stages {
			p.Total.Stages[s] += n
		}
		for d, n := range c.Overdue {
			p.Total.Overdue[d] += n
		}
	}
	p.Total.Done = b.phase == "archived"
	return p
}

// conflict and invalid make update rejections that the API answers with
// 409 and 400; the error type carries the kind across Temporal.
func conflict(format string, args ...any) error {
	return rejection(fault.New(fault.Conflict, format, args...))
}

// notReady refuses a step that opens by itself in a moment.
func notReady(format string, args ...any) error {
	return rejection(fault.New(fault.NotReady, format, args...))
}

// phaseWords says in messages what a batch or county is doing.
var phaseWords = map[string]string{
	"created": "being created", "freezing": "freezing its population", "awaiting_beacon": "waiting for its beacon",
	"drawing": "drawing and locking its list", "counties": "with its counties (matching and inspections)",
	"publishing": "publishing its summary", "archiving": "being archived", "archived": "archived",
	"starting": "starting", "awaiting_match": "waiting for its match", "tracking": "matched, with its inspections under way",
	"done": "done with all its objects",
}

func invalid(err error) error {
	if e, ok := fault.As(err); ok {
		return rejection(e)
	}
	return rejection(fault.New(fault.Invalid, "%s", err.Error()))
}

func rejectForbidden(format string, args ...any) error {
	return rejection(fault.New(fault.Forbidden, format, args...))
}
