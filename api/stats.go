package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
)

// statsAPI serves the year's statistics.
type statsAPI struct {
	s     *Server
	stats *stats.Service
}

// statsRoutes registers the year's statistics.
func (s *Server) statsRoutes(v1 *gin.RouterGroup) {
	h := &statsAPI{s: s, stats: s.d.Services.Stats}
	v1.GET("/statistics", requireRole(auth.Admin, auth.Coordinator, auth.Auditor), h.getStatistics)
}

// getStatistics answers GET /statistics?year=2026&format=json|csv&part=
// figures|ledger: the year-end figures per county and department, and the
// accountability ledger rows behind every figure below 100% (in JSON
// together; in CSV part=ledger).
func (h *statsAPI) getStatistics(c *gin.Context) {
	q, err := checkQuery(c, "year", "format", "part")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), true)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	format, part := q.Get("format"), q.Get("part")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		h.s.fail(c, fault.Field("format", "%q is not json or csv", format))
		return
	}
	if part != "" && part != "figures" && part != "ledger" {
		h.s.fail(c, fault.Field("part", "%q is not figures or ledger", part))
		return
	}
	rep, err := h.stats.Year(c.Request.Context(), year)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if format == "json" {
		c.JSON(http.StatusOK, rep)
		return
	}
	name := fmt.Sprintf("statistics-%d.csv", year)
	write := rep.WriteCSV
	if part == "ledger" {
		name, write = fmt.Sprintf("accountability-%d.csv", year), rep.WriteLedgerCSV
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Status(http.StatusOK)
	if err := write(c.Writer); err != nil {
		h.s.log.Warn("write statistics csv")
	}
}
