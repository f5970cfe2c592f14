package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

func (s *Server) task(ctx context.Context, batchID, key string) (Task, error) {
	t, err := s.inspections().Task(ctx, batchID, key)
	return Task{TaskRecord: t}, err
}

func (h *lifecycleAPI) getTask(c *gin.Context) {
	batchID, key := c.Param("id"), c.Param("key")
	if err := h.s.visibleTask(c, batchID, key); err != nil {
		h.s.fail(c, err)
		return
	}
	t, err := h.s.task(c.Request.Context(), batchID, key)
	if err == nil {
		err = h.warnTasks(c.Request.Context(), []*Task{&t})
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// warnTasks sets the calendar warning of the tasks whose recorded
// unscheduled year still has no schedule (an administrator may have added
// it since the task was written).
func (h *lifecycleAPI) warnTasks(ctx context.Context, tasks []*Task) error {
	cal, err := h.s.calendar().Calendar(ctx)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if y := t.UnscheduledYear; y != 0 && len(cal.Missing(y)) == 1 {
			t.CalendarWarning = warnUnscheduled(y)
		}
	}
	return nil
}

// listTasks lists a batch's tasks in the caller's scope, filtered by
// county, stage, or overdue=true.
func (h *lifecycleAPI) listTasks(c *gin.Context) {
	_, cursor, limit, err := listQuery(c, "stage", "overdue", "county")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	stage := c.Query("stage")
	if stage != "" && !validStage(stage) {
		h.s.fail(c, fault.Field("stage", "unknown stage %q", stage))
		return
	}
	overdue := c.Query("overdue")
	if overdue != "" && overdue != "true" && overdue != "false" {
		h.s.fail(c, fault.Field("overdue", "must be true or false"))
		return
	}
	sc := principalOf(c).Scope()
	county := c.Query("county")
	if sc.County != "" {
		if county != "" && county != sc.County {
			h.s.fail(c, fault.New(fault.Forbidden, "a county officer of %s sees only that county", sc.County))
			return
		}
		county = sc.County
	}
	recs, err := h.tasks.Tasks(c.Request.Context(), inspection.TaskFilter{
		BatchID: c.Param("id"), After: cursor, County: county, Stage: stage, Overdue: overdue,
		Scope: inspection.TaskScope{InspectorKey: sc.InspectorKey, None: sc.None}, Limit: limit + 1,
	})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[Task]{Items: make([]Task, len(recs))}
	for i, r := range recs {
		page.Items[i] = Task{TaskRecord: r}
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(page.Items[limit-1].ObjectKey)
	}
	ptrs := make([]*Task, len(page.Items))
	for i := range page.Items {
		ptrs[i] = &page.Items[i]
	}
	if err := h.warnTasks(c.Request.Context(), ptrs); err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func validStage(s string) bool {
	for _, st := range inspection.Stages {
		if string(st) == s {
			return true
		}
	}
	return false
}

// Progress is a batch's progress by county, read from the database (the
// system of record); ?source=workflow asks the batch workflow instead.
type Progress = stats.Progress

// queryTimeout bounds a workflow query; past it the answer is 503.
const queryTimeout = 10 * time.Second

func (h *lifecycleAPI) getProgress(c *gin.Context) {
	id := c.Param("id")
	q, err := checkQuery(c, "source")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	switch q.Get("source") {
	case "", "database", "workflow":
	default:
		h.s.fail(c, fault.Field("source", "must be database (the default) or workflow, got %q", q.Get("source")))
		return
	}
	county := principalOf(c).Scope().County
	if q.Get("source") == "workflow" {
		ctx, cancel := context.WithTimeout(c.Request.Context(), queryTimeout)
		defer cancel()
		v, err := h.s.d.Temporal.QueryWorkflow(ctx, workflows.BatchWorkflowID(id), "", workflows.QueryProgress)
		if err != nil {
			h.s.fail(c, temporalFault(err, workflows.BatchWorkflowID(id)))
			return
		}
		var p lifecycle.BatchProgress
		if err := v.Get(&p); err != nil {
			h.s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, scopeProgress(p, county))
		return
	}
	load := func(ctx context.Context) (Progress, error) { return h.progress(ctx, id, county) }
	var p Progress
	if h.s.progressCache != nil {
		p, err = h.s.progressCache.get(c.Request.Context(), [2]string{id, county}, load)
	} else {
		p, err = load(c.Request.Context())
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// scopeProgress keeps, for a county officer, their county's row of the
// workflow's progress, and makes the total that row's figures, as the
// database read does.
func scopeProgress(p lifecycle.BatchProgress, county string) lifecycle.BatchProgress {
	if county == "" {
		return p
	}
	counties := []lifecycle.CountyProgress{}
	total := lifecycle.CountyProgress{County: "total", Stages: map[inspection.Stage]int{}, Overdue: map[string]int{}}
	for _, cp := range p.Counties {
		if cp.County != county {
			continue
		}
		counties = append(counties, cp)
		total.Phase, total.Objects, total.Done = cp.Phase, cp.Objects, cp.Done
		for k, v := range cp.Stages {
			total.Stages[k] = v
		}
		for k, v := range cp.Overdue {
			total.Overdue[k] = v
		}
	}
	p.Counties, p.Total = counties, total
	return p
}

func (h *lifecycleAPI) progress(ctx context.Context, id, onlyCounty string) (Progress, error) {
	return h.stats.Progress(ctx, id, onlyCounty)
}

// Lapse is an accountability ledger entry (失职照单问责).
type Lapse = stats.Lapse

// listAccountability lists the ledger: by batch, county and duty; a county
// officer sees their county's entries.
func (h *lifecycleAPI) listAccountability(c *gin.Context) {
	_, cursor, limit, err := listQuery(c, "batch", "county", "duty")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var after int64
	if cursor != "" {
		if _, err := fmt.Sscan(cursor, &after); err != nil {
			h.s.fail(c, fault.Field("cursor", "is not a cursor this server issued"))
			return
		}
	}
	county := c.Query("county")
	if sc := principalOf(c).Scope(); sc.County != "" {
		if county != "" && county != sc.County {
			h.s.fail(c, fault.New(fault.Forbidden, "a county officer of %s sees only that county", sc.County))
			return
		}
		county = sc.County
	}
	page := Page[Lapse]{}
	page.Items, err = h.stats.Lapses(c.Request.Context(), stats.LedgerFilter{BatchID: c.Query("batch"), County: county, Duty: c.Query("duty")}, after, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(fmt.Sprint(page.Items[limit-1].ID))
	}
	c.JSON(http.StatusOK, page)
}

func (h *lifecycleAPI) getSummary(c *gin.Context) {
	sum, err := h.archive.GetSummary(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, sum)
}

func (h *lifecycleAPI) getArchive(c *gin.Context) {
	manifest, sum, err := h.archive.Sealed(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("X-Manifest-SHA256", sum)
	c.Data(http.StatusOK, "application/json", manifest)
}

func (h *lifecycleAPI) getArchiveFile(c *gin.Context) {
	name := c.Param("name")
	b, err := h.archive.FileContent(c.Request.Context(), c.Param("id"), name)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(name, ".json"):
		ct = "application/json"
	case strings.HasSuffix(name, ".csv"):
		ct = "text/csv; charset=utf-8"
	case strings.HasSuffix(name, ".tsv"):
		ct = "text/tab-separated-values; charset=utf-8"
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s"`, c.Param("id"), name))
	c.Data(http.StatusOK, ct, b)
}
