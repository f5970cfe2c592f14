package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/cases"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// caseAPI serves targeted checks (案件, package cases): a case runs
// workflows.ObjectWorkflow as it is, with BatchID "case-<id>", so the task
// endpoints (/batches/case-<id>/tasks/<key>/…) serve it unchanged.
type caseAPI struct {
	s   *Server
	svc *cases.Service
}

func (s *Server) caseRoutes(v1 *gin.RouterGroup) {
	h := &caseAPI{s: s, svc: s.d.Services.Cases}
	v1.POST("/cases", requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.CountyOfficer), h.create)
	v1.GET("/cases", h.list)
	v1.GET("/cases/:id", h.get)
	v1.POST("/cases/:id/assign", requireRole(auth.CountyOfficer), h.assign)
}

type caseRequest struct {
	ID             string         `json:"id"`
	Source         string         `json:"source"`
	SourceRef      string         `json:"source_ref"`
	Summary        string         `json:"summary"`
	ObjectKey      string         `json:"object_key"`
	DepartmentCode string         `json:"department_code"`
	ItemCodes      []string       `json:"item_codes"`
	InspectionEnd  workday.Date   `json:"inspection_end"`
	Policy         *policyRequest `json:"policy,omitempty"`
}

// create answers POST /cases: the case goes to the county of its object's
// jurisdiction.
func (h *caseAPI) create(c *gin.Context) {
	var req caseRequest
	if err := decodeJSON(c, &req); err != nil {
		h.s.fail(c, err)
		return
	}
	n := cases.New{ID: req.ID, Source: req.Source, SourceRef: req.SourceRef, Summary: req.Summary, ObjectKey: req.ObjectKey,
		DepartmentCode: req.DepartmentCode, ItemCodes: req.ItemCodes, InspectionEnd: req.InspectionEnd}
	policy, err := createRequest{InspectionEnd: req.InspectionEnd, Policy: req.Policy}.policy(h.s.today())
	if e, ok := fault.As(err); ok {
		n.Invalid = e.Problems
	}
	if n.Policy, err = json.Marshal(policy); err != nil {
		h.s.fail(c, fmt.Errorf("encode the policy of case %s: %w", req.ID, err))
		return
	}
	k, err := h.svc.Create(c.Request.Context(), n, principalOf(c).Scope(), actorOf(c))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/cases/"+url.PathEscape(k.ID))
	c.JSON(http.StatusCreated, k)
}

func (h *caseAPI) get(c *gin.Context) {
	k, err := h.svc.Visible(c.Request.Context(), c.Param("id"), principalOf(c).Scope())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

// list answers GET /cases?year=&county=: a county officer sees their
// county's.
func (h *caseAPI) list(c *gin.Context) {
	q, err := checkQuery(c, "year", "county")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	year, err := planYear(q.Get("year"), false)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	items, err := h.svc.List(c.Request.Context(), year, q.Get("county"), principalOf(c).Scope())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[cases.Case]{Items: items})
}

// assign answers POST /cases/{id}/assign {"inspectors": [...]}: the county
// officer names the team, and the case's object workflow starts (again, as
// the same workflow, when the request is repeated).
func (h *caseAPI) assign(c *gin.Context) {
	var body struct {
		Inspectors []string `json:"inspectors"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	k, err := h.svc.Assign(ctx, c.Param("id"), body.Inspectors, principalOf(c).Scope(), actorOf(c))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var policy lifecycle.Policy
	if err := json.Unmarshal(k.Policy, &policy); err != nil {
		h.s.fail(c, fmt.Errorf("read the policy of case %s: %w", k.ID, err))
		return
	}
	_, err = h.s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ObjectWorkflowID(k.BatchID, k.ObjectKey),
		TaskQueue:                h.s.d.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.ObjectWorkflow, workflows.ObjectInput{BatchID: k.BatchID, County: k.County, ObjectKey: k.ObjectKey,
		Team: k.Team, InspectionEnd: k.InspectionEnd, Policy: policy})
	if err != nil {
		h.s.fail(c, fmt.Errorf("start the inspection of case %s (repeat the request to retry): %w", k.ID, err))
		return
	}
	c.JSON(http.StatusOK, k)
}
