package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// batchAPI serves the batches and their draw: creation (which publishes
// the commitment), reads, the drawn list, the coordinators' dry run, and
// the public proof and population (public_draw.go). Freeze, draw and lock
// have no endpoint: the batch workflow runs them.
type batchAPI struct {
	s   *Server
	svc *batch.Service
}

// batchRoutes registers the batch resources on v1 and the draw's public
// documents on pub.
func (s *Server) batchRoutes(v1, pub *gin.RouterGroup) {
	h := &batchAPI{s: s, svc: s.d.Services.Batches}
	planners := requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer)
	v1.POST("/batches", planners, h.create)
	v1.GET("/batches", h.list)
	v1.GET("/batches/:id", h.get)
	v1.GET("/batches/:id/objects", requireRole(notInspectors...), h.drawn)
	v1.POST("/draw-simulations", planners, h.simulate)
	pub.GET("/batches/:id/draw-proof", h.proof)
	pub.GET("/batches/:id/population.tsv", h.population)
}

// create answers POST /batches: 201 with the batch and its commitment. The
// same request again answers the same batch; another request with the
// same ID is a conflict.
func (h *batchAPI) create(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	var req createRequest
	if err := decodeJSON(c, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	b, err := h.createBatch(c.Request.Context(), req, actorOf(c))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/batches/"+url.PathEscape(b.ID))
	c.Header("ETag", etag(b.Version))
	c.JSON(http.StatusCreated, b)
}

// createRequest is a batch's draw rules with what its workflow needs: the
// end of the inspection period and, optionally, a deadline policy other
// than the rules' defaults.
type createRequest struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Rules         batch.Rules    `json:"rules"`
	InspectionEnd workday.Date   `json:"inspection_end"`
	Policy        *policyRequest `json:"policy,omitempty"`
}

// policyRequest overrides parts of lifecycle.DefaultPolicy, in the units
// people use.
type policyRequest struct {
	BeaconWaitMinutes *int   `json:"beacon_wait_minutes,omitempty"`
	AutoMatchDays     *int   `json:"auto_match_days,omitempty"`
	ResultEntryDays   *int   `json:"result_entry_days,omitempty"`
	FollowUpEntryDays *int   `json:"follow_up_entry_days,omitempty"`
	PublicationDays   *int   `json:"publication_days,omitempty"`
	ReminderOffsets   []int  `json:"reminder_offsets,omitempty"`
	ReminderTime      string `json:"reminder_time,omitempty"` // "09:00", China time
	// ProgressSeconds gathers a county's changes for this long before it
	// reports them to the batch (default 60).
	ProgressSeconds *int `json:"progress_seconds,omitempty"`
	// JudicialTransferDays: a suspected crime is transferred within this
	// many working days of its result's approval (default 5).
	JudicialTransferDays *int `json:"judicial_transfer_days,omitempty"`
	// FollowUpDays: working days from a result's approval by which its
	// follow-up is completed, by measure (a follow-up action, as code or
	// Chinese term); kinds not named keep their defaults.
	FollowUpDays map[string]int `json:"follow_up_days,omitempty"`
}

func (r createRequest) policy(today workday.Date) (lifecycle.Policy, error) {
	p := lifecycle.DefaultPolicy()
	var ps []fault.Problem
	switch {
	case !r.InspectionEnd.IsValid():
		ps = append(ps, fault.Problem{Field: "inspection_end", Message: "give the last day of the inspection period (YYYY-MM-DD)"})
	case !r.InspectionEnd.After(today):
		ps = append(ps, fault.Problem{Field: "inspection_end", Message: fmt.Sprintf("%s is not after today (%s)", r.InspectionEnd, today)})
	case r.InspectionEnd.After(today.AddDays(730)):
		ps = append(ps, fault.Problem{Field: "inspection_end", Message: "is more than two years away"})
	}
	if q := r.Policy; q != nil {
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&p.AutoMatchDays, q.AutoMatchDays)
		set(&p.ResultEntryDays, q.ResultEntryDays)
		set(&p.FollowUpEntryDays, q.FollowUpEntryDays)
		set(&p.PublicationDays, q.PublicationDays)
		set(&p.JudicialTransferDays, q.JudicialTransferDays)
		for action, n := range q.FollowUpDays {
			if code, ok := inspection.CanonicalAction(action); ok {
				action = code
			}
			p.FollowUpDays[action] = n
		}
		if q.BeaconWaitMinutes != nil {
			p.BeaconWait = time.Duration(*q.BeaconWaitMinutes) * time.Minute
		}
		if q.ProgressSeconds != nil {
			p.ProgressEvery = time.Duration(*q.ProgressSeconds) * time.Second
		}
		if q.ReminderOffsets != nil {
			p.ReminderOffsets = q.ReminderOffsets
		}
		if q.ReminderTime != "" {
			t, err := time.Parse("15:04", q.ReminderTime)
			if err != nil {
				ps = append(ps, fault.Problem{Field: "policy.reminder_time", Message: fmt.Sprintf("%q is not a time of day like 09:00", q.ReminderTime)})
			}
			p.ReminderTime = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		}
	}
	if err := p.Validate(); err != nil {
		e, _ := fault.As(err)
		ps = append(ps, e.Problems...)
	}
	return p, fault.Invalids("the batch cannot be scheduled", ps)
}

// createBatch validates the schedule and starts the batch through
// activities.Starter, the one place a batch is created (plans use it too):
// it commits the draw, records the schedule, and starts the batch's
// workflow, whose ID is the batch's business ID. Every step is idempotent,
// so repeating a request whose workflow did not start starts it.
func (h *batchAPI) createBatch(ctx context.Context, req createRequest, actor string) (batch.Batch, error) {
	policy, err := req.policy(h.s.today())
	if err != nil {
		return batch.Batch{}, err
	}
	return h.s.batchStarter().StartBatch(ctx, activities.BatchStart{
		ID: req.ID, Name: req.Name, Rules: req.Rules, InspectionEnd: req.InspectionEnd, Policy: policy, Actor: actor})
}

// batchStarter is the batch starter plans share (activities.Starter).
func (s *Server) batchStarter() *activities.Starter {
	return &activities.Starter{Batches: s.d.Services.Batches, Temporal: s.d.Temporal, TaskQueue: s.d.TaskQueue}
}

// list answers GET /batches?state=&cursor=&limit=, newest first.
func (h *batchAPI) list(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "state")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items, next, err := h.svc.List(c.Request.Context(), batch.ListRequest{State: batch.State(q.Get("state")), Cursor: cursor, Limit: limit})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	views, err := h.views(c.Request.Context(), items...)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[batchView]{Items: views, NextCursor: encodeCursor(next)})
}

// batchView is a batch as the API shows it: with a warning when its
// deadlines reach a year the working-day calendar has no schedule for.
type batchView struct {
	batch.Batch
	CalendarWarning *calendarWarning `json:"calendar_warning,omitempty"`
}

// views adds to each batch its calendar warning.
func (h *batchAPI) views(ctx context.Context, bs ...batch.Batch) ([]batchView, error) {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	horizons, err := h.svc.Horizons(ctx, ids...)
	if err != nil {
		return nil, err
	}
	cal, err := h.s.calendar().Calendar(ctx)
	if err != nil {
		return nil, err
	}
	resultDays := lifecycle.DefaultPolicy().ResultEntryDays
	views := make([]batchView, len(bs))
	for i, b := range bs {
		views[i] = batchView{Batch: b, CalendarWarning: warnUnscheduled(horizons[b.ID].MissingYear(cal, resultDays))}
	}
	return views, nil
}

// freezing is the state GET /batches/{id} reads while the population is
// frozen in the database but the workflow has not yet opened the beacon:
// the next action (the beacon) would be refused, so the read must not say
// frozen. It is never stored.
const freezing batch.State = "freezing"

// readyState is the state of b as the next action needs it: a frozen batch
// whose workflow is still freezing (the freeze has committed, the workflow
// has not taken its answer yet) reads freezing. The workflow is asked only
// in that state; when it cannot answer in time the database's state stands.
func (h *batchAPI) readyState(ctx context.Context, b batch.Batch) batch.State {
	if b.State != batch.Frozen || h.s.d.Temporal == nil {
		return b.State
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, err := h.s.d.Temporal.QueryWorkflow(ctx, workflows.BatchWorkflowID(b.ID), "", workflows.QueryProgress)
	if err != nil {
		return b.State
	}
	var p lifecycle.BatchProgress
	if v.Get(&p) == nil && (p.Phase == "created" || p.Phase == "freezing") {
		return freezing
	}
	return b.State
}

// get answers GET /batches/{id}, with its version as ETag.
func (h *batchAPI) get(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	b, err := h.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	b.State = h.readyState(c.Request.Context(), b)
	views, err := h.views(c.Request.Context(), b)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	// The warning can change without the batch (a task or a calendar
	// year), so it is part of the tag.
	tag := etag(b.Version)
	if w := views[0].CalendarWarning; w != nil {
		tag = fmt.Sprintf(`"%d-u%d"`, b.Version, w.Year)
	}
	if b.State == freezing {
		// The same row reads frozen in a moment: another tag.
		tag = strings.TrimSuffix(tag, `"`) + `-freezing"`
	}
	c.Header("ETag", tag)
	if c.GetHeader("If-None-Match") == tag {
		c.Status(http.StatusNotModified)
		return
	}
	c.JSON(http.StatusOK, views[0])
}

// drawn answers GET /batches/{id}/objects?county=&cursor=&limit=: the
// drawn list in the proof's order. A county officer sees the objects of
// their county.
func (h *batchAPI) drawn(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "county")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	county := q.Get("county")
	if p := principalOf(c); p.Role == auth.CountyOfficer {
		if county != "" && county != p.County {
			h.s.fail(c, fault.New(fault.Forbidden, "you see the objects of county %s only, not %s", p.County, county))
			return
		}
		county = p.County
	}
	items, next, err := h.svc.Drawn(c.Request.Context(), c.Param("id"), county, cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[batch.DrawnObject]{Items: items, NextCursor: encodeCursor(next)})
}

// simulate answers POST /draw-simulations with {"rules": …}: per stratum
// the population, the quota and the objects left out, nothing stored.
func (h *batchAPI) simulate(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	var body struct {
		Rules batch.Rules `json:"rules"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	sim, err := h.svc.Simulate(c.Request.Context(), body.Rules)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sim)
}
