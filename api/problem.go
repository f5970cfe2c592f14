package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/catalog"
)

// Problem is an RFC 9457 problem details document. Detail is written for a
// person: it says what was wrong and, where it helps, what to do.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID ties the response to the server's log line.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists field-level problems (body fields, file rows and columns).
	Errors []FieldProblem `json:"errors,omitempty"`
	// Details carries structured data about the problem, e.g. every object
	// that cannot be staffed in an infeasible match.
	Details any `json:"details,omitempty"`
}

// FieldProblem names one wrong input.
type FieldProblem struct {
	Field   string `json:"field,omitempty"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

const problemContentType = "application/problem+json"

// problemTypeBase prefixes problem type URIs; they name documentation pages
// of the API, one per kind of problem.
const problemTypeBase = "https://spotcheck.dev/problems/"

// abort writes a problem and stops the handler chain.
func abort(c *gin.Context, status int, slug, detail string, fields ...FieldProblem) {
	p := Problem{
		Type:      problemTypeBase + slug,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Instance:  c.Request.URL.Path,
		RequestID: c.GetString(requestIDKey),
		Errors:    fields,
	}
	writeProblem(c, p)
}

// writeProblem answers p, in Chinese when the caller's Accept-Language
// prefers it (internal/catalog): the title, the detail and each field or
// row problem; what the catalogue does not know stays English.
func writeProblem(c *gin.Context, p Problem) {
	if catalog.PrefersChinese(c.GetHeader("Accept-Language")) {
		p.Title = catalog.Title(p.Status)
		p.Detail, _ = catalog.Chinese(p.Detail)
		for i := range p.Errors {
			p.Errors[i].Message, _ = catalog.Chinese(p.Errors[i].Message)
		}
		c.Header("Content-Language", "zh-CN")
	}
	c.Header("Vary", "Accept-Language")
	c.Header("Content-Type", problemContentType)
	c.AbortWithStatusJSON(p.Status, p)
}
