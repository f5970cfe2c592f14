package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Dashboard is the 工作台 overview: the year's batches, each county's
// objects by stage and overdue, the latest ledger entries, and what falls
// due within the next digest.Ahead working days (or is overdue), grouped by
// batch and duty as the daily digests have it.
type Dashboard struct {
	stats.Dashboard
	Today   workday.Date  `json:"today"`
	DueSoon digest.Digest `json:"due"`
	// CalendarMissing lists which of this year and next have no
	// working-day schedule: counting stops there.
	CalendarMissing []int `json:"calendar_missing"`
}

// dashboardAPI serves the dashboard: the year's figures and what falls due soon.
type dashboardAPI struct {
	s       *Server
	stats   *stats.Service
	digests *digest.Store
}

// dashboardRoutes registers the coordinators' and counties' dashboard.
func (s *Server) dashboardRoutes(v1 *gin.RouterGroup) {
	h := &dashboardAPI{s: s, stats: s.d.Services.Stats, digests: s.d.Services.Digests}
	v1.GET("/dashboard", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer), h.getDashboard)
}

// getDashboard answers GET /dashboard?year=: this year (China time) unless
// given; a county officer sees their county only.
func (h *dashboardAPI) getDashboard(c *gin.Context) {
	q, err := checkQuery(c, "year")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	today := h.s.today()
	year, err := planYear(q.Get("year"), false)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if year == 0 {
		year = today.Year
	}
	ctx := c.Request.Context()
	county := principalOf(c).Scope().County
	d := Dashboard{Today: today}
	if d.Dashboard, err = h.stats.Dashboard(ctx, year, county); err != nil {
		h.s.fail(c, err)
		return
	}
	cal, err := h.s.calendar().Calendar(ctx)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	d.CalendarMissing = cal.Missing(today.Year, today.Year+1)
	region := county
	if region == "" {
		if region, err = h.s.library().TopRegion(ctx); err != nil {
			h.s.fail(c, err)
			return
		}
	}
	// Past the calendar's last year the horizon cannot be counted; the
	// overdue still can, and the missing year is reported beside it.
	horizon, err := cal.AddWorkingDays(today, digest.Ahead)
	if err != nil {
		horizon = today
	}
	if d.DueSoon, err = h.digests.Gather(ctx, region, today, horizon); err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}
