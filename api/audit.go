package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// auditAPI serves the audit trail to auditors and administrators.
type auditAPI struct {
	s     *Server
	trail *audit.Trail
}

// accessRoutes registers who-am-I and the audit trail, which auditors and
// administrators browse and verify.
func (s *Server) accessRoutes(v1 *gin.RouterGroup) {
	h := &auditAPI{s: s, trail: s.d.Services.Audit}
	v1.GET("/me", requireRole(auth.Roles...), s.me)
	a := v1.Group("/audit", requireRole(auth.Auditor, auth.Admin))
	a.GET("", h.listAudit)
	a.GET("/verify", h.verifyAudit)
}

// auditItem is a row of the trail as the API shows it. PayloadText is the
// payload exactly as stored, the bytes its hash covers (payload itself is
// re-encoded on the way out), so that anyone can recompute the chain from
// the API alone (see internal/audit).
type auditItem struct {
	audit.Record
	PayloadText string `json:"payload_text"`
}

// GET /api/v1/audit?entity=&entity_id=&action=&actor=&cursor=&limit=
// lists the trail newest first.
func (h *auditAPI) listAudit(c *gin.Context) {
	_, cursor, limit, err := listQuery(c, "entity", "entity_id", "action", "actor")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := audit.Filter{Entity: c.Query("entity"), EntityID: c.Query("entity_id"), Action: c.Query("action"), Actor: c.Query("actor")}
	for name, v := range map[string]string{"entity": f.Entity, "entity_id": f.EntityID, "action": f.Action, "actor": f.Actor} {
		if len(v) > 200 || strings.ContainsRune(v, 0) {
			h.s.fail(c, fault.Field(name, "must be at most 200 characters"))
			return
		}
	}
	if cursor != "" {
		seq, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || seq < 1 {
			h.s.fail(c, fault.Field("cursor", "is not a cursor this server issued; start again without it"))
			return
		}
		f.Before = seq
	}
	recs, err := h.trail.List(c.Request.Context(), f, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[auditItem]{Items: []auditItem{}}
	if len(recs) > limit {
		recs = recs[:limit]
		page.NextCursor = encodeCursor(strconv.FormatInt(recs[limit-1].Seq, 10))
	}
	for _, r := range recs {
		r.At = r.At.UTC()
		page.Items = append(page.Items, auditItem{Record: r, PayloadText: string(r.Payload)})
	}
	c.JSON(http.StatusOK, page)
}

// GET /api/v1/audit/verify walks the whole chain and reports the first
// edited, missing or rewritten row; a broken chain is a report with ok
// false, not an error.
func (h *auditAPI) verifyAudit(c *gin.Context) {
	rep, err := h.trail.Verify(c.Request.Context())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
