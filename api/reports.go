package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
)

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// reportsAPI writes the reports in Excel.
type reportsAPI struct {
	s     *Server
	stats *stats.Service
}

// reportRoutes serves the reports in Excel: the same figures as the JSON
// endpoints beside them (progress, accountability, statistics), read by the
// same queries, with Chinese headers and frozen header rows.
func (s *Server) reportRoutes(v1 *gin.RouterGroup) {
	h := &reportsAPI{s: s, stats: s.d.Services.Stats}
	v1.GET("/batches/:id/progress.xlsx", requireRole(notInspectors...), h.getProgressXLSX)
	v1.GET("/accountability.xlsx", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer), h.getAccountabilityXLSX)
	v1.GET("/statistics.xlsx", requireRole(auth.Admin, auth.Coordinator, auth.Auditor), h.getStatisticsXLSX)
}

// getProgressXLSX answers GET /batches/{id}/progress.xlsx: a county officer
// gets their county's row.
func (h *reportsAPI) getProgressXLSX(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	id := c.Param("id")
	county := principalOf(c).Scope().County
	h.sendXLSX(c, "progress-"+id+".xlsx", func(ctx context.Context, w io.Writer) error {
		return h.stats.WriteProgressXLSX(ctx, w, id, county)
	})
}

// getAccountabilityXLSX answers GET /accountability.xlsx?batch=&county=&duty=
// with every entry selected (no pages).
func (h *reportsAPI) getAccountabilityXLSX(c *gin.Context) {
	q, err := checkQuery(c, "batch", "county", "duty")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := stats.LedgerFilter{BatchID: q.Get("batch"), County: q.Get("county"), Duty: q.Get("duty")}
	if _, ok := inspection.DutyNames[f.Duty]; f.Duty != "" && !ok {
		h.s.fail(c, fault.Field("duty", "%q is not a duty; one of matching, inspection, result_entry, follow_up, follow_up_entry, publication, judicial_transfer", f.Duty))
		return
	}
	if sc := principalOf(c).Scope(); sc.County != "" {
		if f.County != "" && f.County != sc.County {
			h.s.fail(c, fault.New(fault.Forbidden, "a county officer of %s sees only that county", sc.County))
			return
		}
		f.County = sc.County
	}
	name := "accountability.xlsx"
	if f.BatchID != "" {
		name = "accountability-" + f.BatchID + ".xlsx"
	}
	h.sendXLSX(c, name, func(ctx context.Context, w io.Writer) error {
		return h.stats.WriteLedgerXLSX(ctx, w, f)
	})
}

// getStatisticsXLSX answers GET /statistics.xlsx?year=2026: the year's
// figures for the annual assessment (年度考核).
func (h *reportsAPI) getStatisticsXLSX(c *gin.Context) {
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
	h.sendXLSX(c, fmt.Sprintf("statistics-%d.xlsx", year), func(ctx context.Context, w io.Writer) error {
		return h.stats.WriteYearXLSX(ctx, w, year)
	})
}

// sendXLSX builds the workbook before answering, so that a failure is a
// problem response, never half a file.
func (h *reportsAPI) sendXLSX(c *gin.Context, name string, write func(context.Context, io.Writer) error) {
	var b bytes.Buffer
	if err := write(c.Request.Context(), &b); err != nil {
		h.s.fail(c, err)
		return
	}
	// The name is ASCII (IDs are [0-9A-Za-z._-]); keep it so.
	if slices.ContainsFunc([]byte(name), func(r byte) bool { return r < 0x20 || r > 0x7e || r == '"' }) {
		name = "report.xlsx"
	}
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, xlsxType, b.Bytes())
}
