package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// lifecycleAPI serves a running batch: its steps as Updates of its
// workflows, its tasks, progress, ledger and archive from the database.
type lifecycleAPI struct {
	s       *Server
	tasks   *inspection.Store
	stats   *stats.Service
	archive *archive.Closer
}

func newLifecycleAPI(s *Server) *lifecycleAPI {
	return &lifecycleAPI{s: s, tasks: s.inspections(), stats: s.d.Services.Stats, archive: s.d.Services.Archive}
}

// lifecycleRoutes are the steps of a running batch: the beacon, each
// county's match, and the entries on each drawn object (task). Each step is
// an Update of the batch's workflows, whose validators refuse what the
// object's stage does not allow; reads come from the database.
func (s *Server) lifecycleRoutes(v1, pub *gin.RouterGroup) {
	h := newLifecycleAPI(s)
	officers := requireRole(auth.CountyOfficer, auth.Inspector)
	coordinators := requireRole(auth.Admin, auth.Coordinator)
	v1.POST("/batches/:id/beacon", coordinators, h.postBeacon)
	v1.GET("/batches/:id/progress", requireRole(notInspectors...), h.getProgress)
	v1.POST("/batches/:id/counties/:county/match", requireRole(auth.CountyOfficer), countyOfRoute(), h.postMatch)
	v1.GET("/batches/:id/tasks", h.listTasks)
	v1.GET("/batches/:id/tasks/:key", h.getTask)
	v1.POST("/batches/:id/tasks/:key/inspected", officers, h.postInspected)
	v1.POST("/batches/:id/tasks/:key/result", officers, h.postResult)
	v1.POST("/batches/:id/tasks/:key/review", requireRole(auth.CountyOfficer), h.postReview)
	v1.POST("/batches/:id/tasks/:key/follow-up", officers, h.postFollowUp)
	v1.POST("/batches/:id/tasks/:key/replacements", requireRole(auth.CountyOfficer), h.postReplacement)
	v1.POST("/batches/:id/tasks/:key/judicial-transfer", requireRole(auth.CountyOfficer), h.postTransfer)
	v1.POST("/batches/:id/tasks/:key/extensions", coordinators, h.postExtension)
	v1.GET("/batches/:id/archive", requireRole(auth.Admin, auth.Coordinator, auth.Auditor), h.getArchive)
	v1.GET("/batches/:id/archive/:name", requireRole(auth.Admin, auth.Coordinator, auth.Auditor), h.getArchiveFile)
	v1.GET("/accountability", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer), h.listAccountability)
	pub.GET("/batches/:id/summary", h.getSummary)
}

// update runs a workflow Update and waits for its result; the Idempotency-
// Key header, when sent, is the update's ID, so a retried request is
// answered from the first one.
func (s *Server) update(c *gin.Context, workflowID, name string, arg, result any) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 30*time.Second)
	defer cancel()
	return temporalFault(s.sendUpdate(ctx, workflowID, c.GetHeader("Idempotency-Key"), name, arg, result), workflowID)
}

// updateObject sends an entry to a drawn object's workflow. An object
// nobody has reported on yet has no workflow of its own: the partition
// that tracks it (its task's tracker) opens it first.
func (s *Server) updateObject(c *gin.Context, batchID, key, name string, arg, result any) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 30*time.Second)
	defer cancel()
	id := workflows.ObjectWorkflowID(batchID, key)
	err := s.sendUpdate(ctx, id, c.GetHeader("Idempotency-Key"), name, arg, result)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		tracker, terr := s.inspections().Tracker(ctx, batchID, key)
		if terr != nil {
			return terr
		}
		if tracker != "" {
			if err = s.sendUpdate(ctx, tracker, "", workflows.UpdateOpen, key, nil); err == nil {
				err = s.sendUpdate(ctx, id, c.GetHeader("Idempotency-Key"), name, arg, result)
			}
		}
	}
	return temporalFault(err, id)
}

// sendUpdate sends an Update and waits for its answer ("" lets Temporal
// name it).
func (s *Server) sendUpdate(ctx context.Context, workflowID, updateID, name string, arg, result any) error {
	uh, err := s.d.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: updateID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = uh.Get(ctx, result)
	}
	return err
}

// temporalFault turns what Temporal answers into what the caller can act on.
func temporalFault(err error, workflowID string) error {
	if err == nil {
		return nil
	}
	if f, ok := activities.AsFault(err); ok {
		return f
	}
	// A workflow that has not yet reached the step this entry belongs to
	// has no handler for it.
	if strings.Contains(err.Error(), "unknown update") {
		return fault.New(fault.Conflict, "%s is not taking this entry at its current step; try again in a moment", workflowID)
	}
	// A workflow too busy to answer in time (a query or an update waiting
	// behind a long task queue), a Temporal server restarting or shedding
	// load: the server's delay, not the caller's mistake, and it passes.
	var (
		deadline  *serviceerror.DeadlineExceeded
		down      *serviceerror.Unavailable
		exhausted *serviceerror.ResourceExhausted
	)
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline) || errors.As(err, &down) || errors.As(err, &exhausted) {
		return fault.New(fault.Unavailable, "%s did not answer in time; try again shortly", workflowID)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fault.New(fault.NotFound, "%s is not running (no such batch, county or drawn object, or it has finished)", workflowID)
	}
	return err
}

func (h *lifecycleAPI) postBeacon(c *gin.Context) {
	var body struct {
		Beacon string `json:"beacon"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	var got string
	if err := h.s.update(c, workflows.BatchWorkflowID(c.Param("id")), workflows.UpdateBeacon, body.Beacon, &got); err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"batch_id": c.Param("id"), "beacon": got})
}

func (h *lifecycleAPI) postMatch(c *gin.Context) {
	var body struct {
		Beacon string `json:"beacon"`
	}
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &body); err != nil {
			h.s.fail(c, err)
			return
		}
	}
	county := c.Param("county")
	var res staffing.MatchResult
	req := workflows.MatchRequest{By: actorFrom(principalOf(c)), Beacon: body.Beacon}
	if err := h.s.update(c, workflows.CountyWorkflowID(c.Param("id"), county), workflows.UpdateMatch, req, &res); err != nil {
		// Right after the lock the county's workflow may not have started.
		if fault.KindOf(err) == fault.NotFound {
			if locked, lerr := h.tasks.CountyLocked(c.Request.Context(), c.Param("id"), county); lerr == nil && locked {
				err = fault.New(fault.NotReady, "county %s of batch %s is starting: its match opens in a moment; try again", county, c.Param("id"))
			}
		}
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// actorFrom names the caller as the workflows' rules see them.
func actorFrom(p auth.Principal) inspection.Actor {
	return inspection.Actor{Role: string(p.Role), County: p.County, InspectorKey: p.InspectorKey, Name: p.Subject}
}

func (h *lifecycleAPI) postInspected(c *gin.Context) {
	var body struct {
		CompletedOn workday.Date `json:"completed_on"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	if err := h.checkCompletedOn(c, body.CompletedOn); err != nil {
		h.s.fail(c, err)
		return
	}
	h.taskUpdate(c, workflows.UpdateInspected, workflows.Inspected{CompletedOn: body.CompletedOn, By: actorFrom(principalOf(c))}, nil)
}

// checkCompletedOn bounds an inspection's day: not after today (the
// server's clock) and not before the object was assigned to the county,
// the day its batch was locked; such a day would open an overdue result
// and an accountability entry at once.
func (h *lifecycleAPI) checkCompletedOn(c *gin.Context, on workday.Date) error {
	if today := h.s.today(); on.After(today) {
		return fault.Field("completed_on", "%s is after today (%s)", on, today)
	}
	locked, err := h.tasks.LockedAt(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if locked != nil {
		if day := workday.DateOf(*locked); on.Before(day) {
			return fault.Field("completed_on", "%s is before the object was assigned to the county on %s", on, day)
		}
	}
	return nil
}

func (h *lifecycleAPI) postResult(c *gin.Context) {
	var body struct {
		ResultCode     string `json:"result_code"`
		Method         string `json:"method"`
		Notes          string `json:"notes"`
		SuspectedCrime bool   `json:"suspected_crime"`
		FollowUpAction string `json:"follow_up_action"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	var revision int
	r := inspection.Result{Code: body.ResultCode, Method: body.Method, Notes: body.Notes, SuspectedCrime: body.SuspectedCrime,
		FollowUpAction: body.FollowUpAction, EnteredBy: actorFrom(principalOf(c))}.Canonical()
	// The item list says how each item is checked (ZR-08: on site only).
	if library.Methods.Chinese(r.Method) != "" {
		if err := h.s.visibleTask(c, c.Param("id"), c.Param("key")); err != nil {
			h.s.fail(c, err)
			return
		}
		items, err := h.s.library().DrawnItemMethods(c.Request.Context(), c.Param("id"), c.Param("key"))
		if err == nil {
			err = inspection.CheckMethod(r.Method, items)
		}
		if err != nil {
			h.s.fail(c, err)
			return
		}
	}
	h.taskUpdate(c, workflows.UpdateResult, r, &revision)
}

func (h *lifecycleAPI) postReview(c *gin.Context) {
	var body struct {
		Approve *bool  `json:"approve"`
		Comment string `json:"comment"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	if body.Approve == nil {
		h.s.fail(c, fault.Field("approve", "say true to approve the result or false to return it for correction"))
		return
	}
	h.taskUpdate(c, workflows.UpdateReview, inspection.Review{Approve: *body.Approve, Comment: body.Comment, Reviewer: actorFrom(principalOf(c))}, nil)
}

func (h *lifecycleAPI) postFollowUp(c *gin.Context) {
	var body struct {
		CompletedOn string   `json:"completed_on"`
		Actions     []string `json:"actions"`
		Notes       string   `json:"notes"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	f := inspection.FollowUpEntry{CompletedOn: body.CompletedOn, Actions: body.Actions, Notes: body.Notes, EnteredBy: actorFrom(principalOf(c))}.Canonical()
	h.taskUpdate(c, workflows.UpdateFollowUp, f, nil)
}

// postTransfer records the transfer of a suspected crime to a judicial
// organ (移送司法机关), due within the policy's days of the result's approval.
func (h *lifecycleAPI) postTransfer(c *gin.Context) {
	var body struct {
		Organ         string       `json:"organ"`
		TransferredOn workday.Date `json:"transferred_on"`
		DocumentNo    string       `json:"document_no"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	h.taskUpdate(c, workflows.UpdateTransfer, workflows.JudicialTransfer{Organ: body.Organ, TransferredOn: body.TransferredOn,
		DocumentNo: body.DocumentNo, By: actorFrom(principalOf(c))}, nil)
}

// postReplacement replaces one inspector of a task's team (sick, a
// conflict found after the match) by the next in the published match order:
// a new round of the object's match proof, which the Location names.
func (h *lifecycleAPI) postReplacement(c *gin.Context) {
	var body struct {
		InspectorKey string `json:"inspector_key"`
		Reason       string `json:"reason"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	batchID, key := c.Param("id"), c.Param("key")
	if err := h.s.visibleTask(c, batchID, key); err != nil {
		h.s.fail(c, err)
		return
	}
	var res staffing.ReplaceResult
	r := workflows.Replacement{InspectorKey: body.InspectorKey, Reason: body.Reason, By: actorFrom(principalOf(c))}
	if err := h.s.updateObject(c, batchID, key, workflows.UpdateReplace, r, &res); err != nil {
		h.s.fail(c, err)
		return
	}
	t, err := h.s.task(c.Request.Context(), batchID, key)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/batches/%s/counties/%s/match-proof?object=%s&round=%d",
		url.PathEscape(batchID), url.PathEscape(t.County), url.QueryEscape(key), res.Round))
	c.JSON(http.StatusCreated, gin.H{"replacement": res, "task": t})
}

func (h *lifecycleAPI) postExtension(c *gin.Context) {
	var body struct {
		Duty        string `json:"duty"`
		WorkingDays int    `json:"working_days"`
		Reason      string `json:"reason"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	var due workday.Date
	// The duty is taken as its code or its Chinese term (检查结果录入).
	if code, err := enumByName(dutyCodes)(c.Request.Context(), h.s, "duty", strings.TrimSpace(body.Duty)); err == nil {
		body.Duty = code
	}
	e := workflows.Extension{Duty: body.Duty, WorkingDays: body.WorkingDays, Reason: body.Reason, By: actorOf(c)}
	h.taskUpdate(c, workflows.UpdateExtend, e, &due)
}

// taskUpdate sends an entry to a drawn object's workflow and answers with
// the task as it stands afterwards.
func (h *lifecycleAPI) taskUpdate(c *gin.Context, name string, arg, result any) {
	batchID, key := c.Param("id"), c.Param("key")
	if err := h.s.visibleTask(c, batchID, key); err != nil {
		h.s.fail(c, err)
		return
	}
	if err := h.s.updateObject(c, batchID, key, name, arg, result); err != nil {
		h.s.fail(c, err)
		return
	}
	t, err := h.s.task(c.Request.Context(), batchID, key)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// Task is a drawn object's task as dashboards show it.
type Task struct {
	inspection.TaskRecord
	// CalendarWarning names the year without a holiday schedule that an
	// open deadline of the task reaches; that deadline is not counted yet.
	CalendarWarning *calendarWarning `json:"calendar_warning,omitempty" db:"-"`
}

// visibleTask refuses, as not found, a task outside the caller's scope
// ("谁管辖、谁负责"): a county officer sees their county, an inspector the
// tasks they are matched to.
func (s *Server) visibleTask(c *gin.Context, batchID, key string) error {
	sc := principalOf(c).Scope()
	ok, err := s.inspections().TaskVisible(c.Request.Context(), batchID, key,
		inspection.TaskScope{County: sc.County, InspectorKey: sc.InspectorKey, None: sc.None})
	if err != nil {
		return err
	}
	if !ok {
		return fault.New(fault.NotFound, "batch %s has no task for object %s that you can see", batchID, key)
	}
	return nil
}
