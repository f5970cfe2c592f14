package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// planAPI serves the annual plans (年度抽查工作计划): drafting by departments
// and counties, approval and publication by the coordinator, the city plan,
// and the plan workflow that starts each batch on its date.
type planAPI struct {
	s   *Server
	svc *plan.Service
}

func (s *Server) planRoutes(v1, pub *gin.RouterGroup) {
	h := &planAPI{s: s, svc: s.d.Services.Plans}
	owners := requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.CountyOfficer)
	coordinators := requireRole(auth.Admin, auth.Coordinator)
	v1.POST("/plans", owners, h.create)
	v1.GET("/plans", h.list)
	v1.GET("/plans/:id", h.get)
	v1.PUT("/plans/:id", owners, h.update)
	v1.POST("/plans/:id/submit", owners, h.transition(plan.Submit))
	v1.POST("/plans/:id/return", coordinators, h.transition(plan.Return))
	v1.POST("/plans/:id/approve", coordinators, h.transition(plan.Approve))
	v1.POST("/plans/:id/publish", coordinators, h.transition(plan.Publish))
	v1.POST("/plans/:id/start", coordinators, h.start)
	v1.POST("/plans/:id/pause", coordinators, h.control(workflows.UpdatePause))
	v1.POST("/plans/:id/resume", coordinators, h.control(workflows.UpdateResume))
	v1.POST("/plans/:id/cancel", coordinators, h.control(workflows.UpdateCancel))
	v1.POST("/plans/:id/batches", coordinators, h.extraBatch)
	v1.GET("/plans/:id/progress", h.progress)
	v1.GET("/city-plan", h.cityPlan)
	pub.GET("/plans", h.publicPlans)
}

// planRequest is a plan as its owner writes it, with the deadline policy
// in the units of POST /batches.
type planRequest struct {
	plan.Spec
	Policy *policyRequest `json:"policy,omitempty"`
}

// spec validates the policy and returns the plan to store; the plan
// package validates the rest.
func (r planRequest) spec(id string, today workday.Date) (plan.Spec, error) {
	sp := r.Spec
	if id != "" {
		if sp.ID != "" && sp.ID != id {
			return sp, fault.Field("id", "%q is not the plan of this address (%s)", sp.ID, id)
		}
		sp.ID = id
	}
	p := lifecycle.DefaultPolicy()
	if r.Policy != nil {
		// The plan's inspection period is checked with the plan: here only
		// the policy's own fields.
		far := today.AddDays(365)
		got, err := createRequest{InspectionEnd: far, Policy: r.Policy}.policy(today)
		if err != nil {
			return sp, err
		}
		p = got
	}
	sp.Policy = &p
	return sp, nil
}

// planView is a plan as the API shows it: its policy in the units of the
// request (minutes, seconds, a time of day), not the workflow's
// nanoseconds.
type planView struct {
	plan.Plan
	Policy *policyView `json:"policy,omitempty"`
}

// policyView is a whole deadline policy in the units of policyRequest.
type policyView struct {
	BeaconWaitMinutes int    `json:"beacon_wait_minutes"`
	AutoMatchDays     int    `json:"auto_match_days"`
	ResultEntryDays   int    `json:"result_entry_days"`
	FollowUpEntryDays int    `json:"follow_up_entry_days"`
	PublicationDays   int    `json:"publication_days"`
	ReminderOffsets   []int  `json:"reminder_offsets"`
	ReminderTime      string `json:"reminder_time"`
	ProgressSeconds   int    `json:"progress_seconds"`
	// JudicialTransferDays is 0 for plans from before the rule: the
	// default applies.
	JudicialTransferDays int `json:"judicial_transfer_days"`
	// FollowUpDays is absent for plans from before the rule: the defaults
	// apply.
	FollowUpDays map[string]int `json:"follow_up_days,omitempty"`
}

func viewPolicy(p lifecycle.Policy) *policyView {
	return &policyView{
		BeaconWaitMinutes: int(p.BeaconWait / time.Minute), AutoMatchDays: p.AutoMatchDays,
		ResultEntryDays: p.ResultEntryDays, FollowUpEntryDays: p.FollowUpEntryDays, PublicationDays: p.PublicationDays,
		ReminderOffsets:      p.ReminderOffsets,
		ReminderTime:         fmt.Sprintf("%02d:%02d", int(p.ReminderTime/time.Hour), int(p.ReminderTime%time.Hour/time.Minute)),
		ProgressSeconds:      int(p.ProgressEvery / time.Second),
		JudicialTransferDays: p.JudicialTransferDays,
		FollowUpDays:         p.FollowUpDays,
	}
}

// viewPlan shows a stored plan; its policy was validated when it was
// stored, so one that no longer decodes is shown as absent.
func viewPlan(p plan.Plan) planView {
	v := planView{Plan: p}
	if p.Policy != nil {
		v.Policy = viewPolicy(*p.Policy)
	}
	return v
}

// owns refuses a department or county officer acting on another's plan.
func owns(c *gin.Context, department, county string) error {
	sc := principalOf(c).Scope()
	if sc.Department != "" && sc.Department != department {
		return fault.New(fault.Forbidden, "you act on the plans of department %s only", sc.Department)
	}
	if sc.County != "" && sc.County != county {
		return fault.New(fault.Forbidden, "you act on the plans of county %s only", sc.County)
	}
	return nil
}

func (h *planAPI) create(c *gin.Context) {
	var req planRequest
	if err := decodeJSON(c, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	sp, err := req.spec("", h.s.today())
	if err == nil {
		err = owns(c, sp.DepartmentCode, sp.CountyCode)
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	p, err := h.svc.Create(c.Request.Context(), sp, actorOf(c))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/plans/"+url.PathEscape(p.ID))
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusCreated, viewPlan(p))
}

func (h *planAPI) update(c *gin.Context) {
	version, err := ifMatch(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var req planRequest
	if err := decodeJSON(c, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	sp, err := req.spec(c.Param("id"), h.s.today())
	if err == nil {
		err = h.visible(c, c.Param("id"))
	}
	if err == nil {
		err = owns(c, sp.DepartmentCode, sp.CountyCode)
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	p, err := h.svc.Update(c.Request.Context(), sp, version)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, viewPlan(p))
}

// visible reads plan id, refusing (as not found) one outside the caller's
// department or county.
func (h *planAPI) visible(c *gin.Context, id string) error {
	_, err := h.read(c, id)
	return err
}

func (h *planAPI) read(c *gin.Context, id string) (plan.Plan, error) {
	p, err := h.svc.Get(c.Request.Context(), id)
	if err != nil {
		return p, err
	}
	if !canSeePlan(principalOf(c).Scope(), p) {
		return plan.Plan{}, fault.New(fault.NotFound, "no plan %s that you can see", id)
	}
	return p, nil
}

// canSeePlan is the read scope of a plan: a department or county officer
// sees their own unit's, an inspector the published ones (which are public
// anyway), a principal without a scope none; the city's roles all.
func canSeePlan(sc auth.Scope, p plan.Plan) bool {
	switch {
	case sc.None:
		return false
	case sc.Department != "":
		return p.DepartmentCode == sc.Department
	case sc.County != "":
		return p.CountyCode == sc.County
	case sc.InspectorKey != "":
		return p.State == plan.Published
	}
	return true
}

func (h *planAPI) get(c *gin.Context) {
	p, err := h.read(c, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, viewPlan(p))
}

// list answers GET /plans?year=&state=: a department or county officer
// sees their own.
func (h *planAPI) list(c *gin.Context) {
	q, err := checkQuery(c, "year", "state")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := plan.Filter{State: plan.State(q.Get("state"))}
	if f.Year, err = planYear(q.Get("year"), false); err != nil {
		h.s.fail(c, err)
		return
	}
	sc := principalOf(c).Scope()
	f.Department, f.County = sc.Department, sc.County
	items, err := h.svc.List(c.Request.Context(), f)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	views := []planView{}
	for _, p := range items {
		if canSeePlan(sc, p) {
			views = append(views, viewPlan(p))
		}
	}
	c.JSON(http.StatusOK, Page[planView]{Items: views})
}

func planYear(s string, required bool) (int, error) {
	if s == "" && !required {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2100 {
		return 0, fault.Field("year", "give a year such as 2026, not %q", s)
	}
	return y, nil
}

// transition answers POST /plans/{id}/{submit|return|approve|publish};
// If-Match is honoured when sent.
func (h *planAPI) transition(a plan.Action) gin.HandlerFunc {
	return func(c *gin.Context) {
		var version int64
		if c.GetHeader("If-Match") != "" {
			v, err := ifMatch(c)
			if err != nil {
				h.s.fail(c, err)
				return
			}
			version = v
		}
		if err := h.visible(c, c.Param("id")); err != nil {
			h.s.fail(c, err)
			return
		}
		p, err := h.svc.Transition(c.Request.Context(), c.Param("id"), a, actorOf(c), version)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		c.Header("ETag", etag(p.Version))
		c.JSON(http.StatusOK, viewPlan(p))
	}
}

// start answers POST /plans/{id}/start: it starts the plan's workflow
// (ID plan/<id>) once; repeating it answers the same run. An unapproved
// plan is refused.
func (h *planAPI) start(c *gin.Context) {
	ctx := c.Request.Context()
	p, err := h.svc.MarkStarted(ctx, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	in := workflows.PlanInput{PlanID: p.ID, Actor: actorOf(c),
		Until: time.Date(p.Year+1, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	for _, b := range p.Batches {
		in.Draws = append(in.Draws, workflows.PlannedDraw{Seq: b.Seq, At: b.Time()})
	}
	run, err := h.s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.PlanWorkflowID(p.ID),
		TaskQueue:                h.s.d.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.PlanWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		h.s.fail(c, fault.New(fault.Conflict, "plan %s has already run and closed; it cannot start again", p.ID))
		return
	}
	if err != nil {
		h.s.fail(c, fmt.Errorf("start the workflow of plan %s (repeat the request to retry): %w", p.ID, err))
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"plan_id": p.ID, "workflow_id": run.GetID(), "run_id": run.GetRunID()})
}

// control answers POST /plans/{id}/{pause|resume|cancel} with
// {"reason": …} (optional).
func (h *planAPI) control(name string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body struct {
			Reason string `json:"reason"`
		}
		if c.Request.ContentLength != 0 {
			if err := decodeJSON(c, &body); err != nil {
				h.s.fail(c, err)
				return
			}
		}
		var got workflows.PlanProgress
		if err := h.s.update(c, workflows.PlanWorkflowID(c.Param("id")), name,
			workflows.PlanControl{By: actorOf(c), Reason: body.Reason}, &got); err != nil {
			h.s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, got)
	}
}

// extraBatch answers POST /plans/{id}/batches: a batch outside the planned
// dates, started now with the plan's rules.
func (h *planAPI) extraBatch(c *gin.Context) {
	var body struct {
		Name          string        `json:"name"`
		InspectionEnd *workday.Date `json:"inspection_end"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	var got struct {
		Seq     int    `json:"seq"`
		BatchID string `json:"batch_id"`
		Extra   bool   `json:"extra"`
	}
	if err := h.s.update(c, workflows.PlanWorkflowID(c.Param("id")), workflows.UpdateExtraBatch,
		workflows.ExtraBatch{Name: body.Name, InspectionEnd: body.InspectionEnd, By: actorOf(c)}, &got); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/batches/"+url.PathEscape(got.BatchID))
	c.JSON(http.StatusCreated, got)
}

// planProgress is the plan's progress: the workflow's view when it runs,
// with the batches it started and their states from the database.
type planProgress struct {
	workflows.PlanProgress
	PlanState plan.State          `json:"plan_state"`
	Started   []plan.StartedBatch `json:"started_batches"`
}

func (h *planAPI) progress(c *gin.Context) {
	p, err := h.read(c, c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	out, err := h.planProgress(c.Request.Context(), p)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (h *planAPI) planProgress(ctx context.Context, p plan.Plan) (planProgress, error) {
	out := planProgress{PlanState: p.State, Started: p.Started}
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := h.s.d.Temporal.QueryWorkflow(qctx, workflows.PlanWorkflowID(p.ID), "", workflows.QueryProgress)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound) || (err != nil && strings.Contains(err.Error(), "not found")):
		out.PlanProgress = workflows.PlanProgress{PlanID: p.ID, State: "not_started"}
		for _, b := range p.Batches {
			at := b.Time()
			out.Batches = append(out.Batches, workflows.PlanBatchStatus{Seq: b.Seq, DrawAt: &at, Status: workflows.BatchScheduled})
		}
	case err != nil:
		return out, temporalFault(fmt.Errorf("query plan %s: %w", p.ID, err), workflows.PlanWorkflowID(p.ID))
	default:
		if err := v.Get(&out.PlanProgress); err != nil {
			return out, err
		}
	}
	return out, nil
}

// cityPlan answers GET /city-plan?year=: every plan of the year, in any
// state, for the coordinator's aggregation.
func (h *planAPI) cityPlan(c *gin.Context) {
	q, err := checkQuery(c, "year")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), true)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	city, err := h.svc.CityPlan(c.Request.Context(), year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, city)
}

// publicPlans answers GET /public/plans?year=: the city plan as
// published, 嘉兴市 年度双随机抽查工作计划.
func (h *planAPI) publicPlans(c *gin.Context) {
	q, err := checkQuery(c, "year")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), true)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	city, err := h.s.d.Services.Disclosure.CityPlan(c.Request.Context(), year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, city)
}
