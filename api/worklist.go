package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// worklistAPI serves the 待办 of county officers and inspectors.
type worklistAPI struct {
	s        *Server
	tasks    *inspection.Store
	staffing *staffing.Service
}

// worklistRoutes are the reads of the people who do a batch's work: a
// county officer's and an inspector's 待办 with the working days left on
// each open deadline, a county's pool before its match, and the content of
// an inspection's record sheet (检查记录表).
func (s *Server) worklistRoutes(v1 *gin.RouterGroup) {
	h := &worklistAPI{s: s, tasks: s.inspections(), staffing: s.d.Services.Staffing}
	m := s.d.Services.Staffing
	v1.GET("/worklist", requireRole(auth.CountyOfficer, auth.Inspector), h.getWorklist)
	v1.GET("/batches/:id/counties/:county/match-pool", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer), countyOfRoute(),
		func(c *gin.Context) {
			if _, err := checkQuery(c); err != nil {
				s.fail(c, err)
				return
			}
			pv, err := m.Preview(c.Request.Context(), c.Param("id"), c.Param("county"))
			if err != nil {
				s.fail(c, err)
				return
			}
			c.JSON(http.StatusOK, pv)
		})
	v1.GET("/batches/:id/tasks/:key/sheet", h.getTaskSheet)
}

// Worklist is what a county officer or an inspector has to do.
type Worklist struct {
	Today workday.Date `json:"today"`
	// Matches are the counties' matches still to run (county officers).
	Matches []WorklistMatch `json:"matches"`
	// Items are the open deadlines of the caller's tasks, soonest first.
	Items []WorklistItem `json:"items"`
}

// The rows of the worklist and the record sheet are the inspection store's.
type (
	WorklistMatch  = inspection.WorklistMatch
	WorklistItem   = inspection.WorklistItem
	SheetBatch     = inspection.SheetBatch
	SheetObject    = inspection.SheetObject
	SheetItem      = inspection.SheetItem
	SheetInspector = inspection.SheetInspector
	SheetResult    = inspection.SheetResult
)

// getWorklist answers the caller's worklist: a county officer's county, an
// inspector's own tasks. Which deadline is open follows the task's stage,
// as in the daily digest.
func (h *worklistAPI) getWorklist(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	sc := principalOf(c).Scope()
	w := Worklist{Today: h.s.today(), Matches: []WorklistMatch{}, Items: []WorklistItem{}}
	if sc.County != "" {
		var err error
		if w.Matches, err = h.tasks.WorklistMatches(ctx, sc.County); err != nil {
			h.s.fail(c, fmt.Errorf("worklist: matches of %s: %w", sc.County, err))
			return
		}
	}
	var err error
	if w.Items, err = h.tasks.WorklistItems(ctx, inspection.TaskScope{County: sc.County, InspectorKey: sc.InspectorKey, None: sc.None}, w.Today); err != nil {
		h.s.fail(c, fmt.Errorf("worklist: open deadlines: %w", err))
		return
	}
	cal, err := h.s.calendar().Calendar(ctx)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	for i := range w.Items {
		it := &w.Items[i]
		if !it.DueText.Valid {
			it.Urgency = "open"
			continue
		}
		due, err := workday.ParseDate(it.DueText.String)
		if err != nil {
			h.s.fail(c, fmt.Errorf("worklist: due %q: %w", it.DueText.String, err))
			return
		}
		it.Due = &due
		left, err := workingDaysLeft(cal, w.Today, due)
		var missing *workday.UnscheduledYearError
		switch {
		case errors.As(err, &missing):
		case err != nil:
			h.s.fail(c, err)
			return
		default:
			it.WorkingDaysLeft = &left
		}
		it.Urgency = urgency(it.Overdue, it.WorkingDaysLeft)
	}
	c.JSON(http.StatusOK, w)
}

// workingDaysLeft is the working days from today to due: after today up
// to and including due, or minus those after due up to today when it has
// passed.
func workingDaysLeft(cal *workday.Calendar, today, due workday.Date) (int, error) {
	if due.Before(today) {
		n, err := cal.WorkingDaysBetween(due, today)
		return -n, err
	}
	return cal.WorkingDaysBetween(today, due)
}

func urgency(overdue bool, left *int) string {
	switch {
	case overdue || (left != nil && *left < 0):
		return "overdue"
	case left != nil && *left <= digest.Ahead:
		return "due_soon"
	}
	return "open"
}

// TaskSheet is what the record sheet of an inspection (检查记录表) prints:
// the object, the batch's items it is checked on with their basis and
// content, the team and, once entered, the result.
type TaskSheet struct {
	Task Task `json:"task"`
	inspection.Sheet
	Methods []string `json:"methods"` // the methods its items allow
}

// getTaskSheet answers the record sheet of a task in the caller's scope.
func (h *worklistAPI) getTaskSheet(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	batchID, key := c.Param("id"), c.Param("key")
	if err := h.s.visibleTask(c, batchID, key); err != nil {
		h.s.fail(c, err)
		return
	}
	t, err := h.s.task(ctx, batchID, key)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	sh := TaskSheet{Task: t, Sheet: inspection.Sheet{Items: []SheetItem{}, Team: []SheetInspector{}}, Methods: []string{}}
	err = h.tasks.ReadSheet(ctx, batchID, key, t.Inspectors, &sh.Sheet)
	if err != nil {
		h.s.fail(c, fmt.Errorf("record sheet of %s in %s: %w", key, batchID, err))
		return
	}
	seen := map[string]bool{}
	for _, it := range sh.Items {
		for _, m := range it.Methods {
			if !seen[m] && library.Methods.Chinese(m) != "" {
				seen[m] = true
				sh.Methods = append(sh.Methods, m)
			}
		}
	}
	c.JSON(http.StatusOK, sh)
}
