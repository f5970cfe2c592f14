package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
)

func (s *Server) statsRoutes(v1 *gin.RouterGroup) {
	v1.GET("/statistics", requireRole(auth.Admin, auth.Coordinator, auth.Auditor), s.getStatistics)
}

// getStatistics answers GET /statistics?year=2026&format=json|csv&part=
// figures|ledger: the year-end figures per county and department, and the
// accountability ledger rows behind every figure below 100% (in JSON
// together; in CSV part=ledger).
func (s *Server) getStatistics(c *gin.Context) {
	q, err := checkQuery(c, "year", "format", "part")
	if err != nil {
		s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), true)
	if err != nil {
		s.fail(c, err)
		return
	}
	format, part := q.Get("format"), q.Get("part")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		s.fail(c, fault.Field("format", "%q is not json or csv", format))
		return
	}
	if part != "" && part != "figures" && part != "ledger" {
		s.fail(c, fault.Field("part", "%q is not figures or ledger", part))
		return
	}
	rep, err := stats.NewService(s.d.DB).Year(c.Request.Context(), year)
	if err != nil {
		s.fail(c, err)
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
		s.log.Warn("write statistics csv")
	}
}
