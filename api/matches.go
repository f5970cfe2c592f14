package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
)

// matchRoutes serves the stored match proofs (DRAW-SPEC §2): to auditors,
// not to the public, and to the city's coordinators and admins.
func (s *Server) matchRoutes(v1 *gin.RouterGroup) {
	h := &matchAPI{s: s, m: s.d.Services.Staffing}
	readers := requireRole(auth.Auditor, auth.Admin, auth.Coordinator)
	v1.GET("/batches/:id/counties/:county/match-proof", readers, h.proof)
	v1.GET("/batches/:id/counties/:county/match-proofs", readers, h.list)
	v1.POST("/batches/:id/counties/:county/set-asides", requireRole(auth.CountyOfficer), countyOfRoute(), h.setAside)
	v1.GET("/batches/:id/set-asides", requireRole(auth.Auditor, auth.Admin, auth.Coordinator, auth.CountyOfficer), h.setAsides)
}

// setAside leaves one drawn object out of the county's match, before it
// runs, when nobody of the county may inspect it; the city takes it as an
// exception.
func (h *matchAPI) setAside(c *gin.Context) {
	var body struct {
		ObjectKey string `json:"object_key"`
		Reason    string `json:"reason"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	got, err := h.m.SetAside(c.Request.Context(), staffing.SetAsideInput{BatchID: c.Param("id"), County: c.Param("county"),
		ObjectKey: body.ObjectKey, Reason: body.Reason, By: actorOf(c)})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, got)
}

// setAsides lists a batch's objects set aside (the city's exceptions); a
// county officer sees their county's.
func (h *matchAPI) setAsides(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	list, err := h.m.SetAsides(c.Request.Context(), c.Param("id"), principalOf(c).Scope().County)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
}

type matchAPI struct {
	s *Server
	m *staffing.Service
}

// proof answers one proof exactly as `spotcheck verify-match` reads it:
// the county's match, of ?department= when several departments matched
// (a joint batch), or with ?object= the latest replacement on that object
// (?round= for an earlier one).
func (h *matchAPI) proof(c *gin.Context) {
	q, err := checkQuery(c, "department", "object", "round")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	pq := staffing.ProofQuery{BatchID: c.Param("id"), County: c.Param("county"), ObjectKey: q.Get("object")}
	if q.Has("department") {
		d := q.Get("department")
		pq.Department = &d
	}
	if r := q.Get("round"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 2 {
			h.s.fail(c, fault.Field("round", "%q is not a replacement round: 2 or more", r))
			return
		}
		if pq.ObjectKey == "" {
			h.s.fail(c, fault.Field("round", "names a replacement round of one object: give object too"))
			return
		}
		pq.Round = n
	}
	p, err := h.m.FindProof(c.Request.Context(), pq)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// list answers the county's stored proofs, each with the URL that serves
// it.
func (h *matchAPI) list(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	id, county := c.Param("id"), c.Param("county")
	infos, err := h.m.Proofs(c.Request.Context(), id, county)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	type item struct {
		staffing.ProofInfo
		URL string `json:"url"`
	}
	joint := 0
	for _, p := range infos {
		if p.Kind == staffing.KindMatch {
			joint++
		}
	}
	base := "/api/v1/batches/" + url.PathEscape(id) + "/counties/" + url.PathEscape(county) + "/match-proof"
	items := make([]item, len(infos))
	for i, p := range infos {
		u := base
		switch {
		case p.Kind == staffing.KindReplacement:
			u += "?object=" + url.QueryEscape(p.ObjectKey) + "&round=" + strconv.Itoa(p.Round)
		case joint > 1:
			u += "?department=" + url.QueryEscape(p.DepartmentCode)
		}
		items[i] = item{p, u}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}
