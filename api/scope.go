package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// Role sets of the access matrix (see TestScopeMatrix, which is the whole
// matrix written down as a table).
var (
	// libraryWriters change the libraries: the city's bureau and its
	// departments. County officers and inspectors read them.
	libraryWriters = []auth.Role{auth.Admin, auth.Coordinator, auth.DepartmentOfficer}
	// cityRoles manage regions, departments, the calendar and contacts.
	cityRoles = []auth.Role{auth.Admin, auth.Coordinator}
	// notInspectors reads everything of the batches but an inspector, who
	// sees their own tasks only.
	notInspectors = []auth.Role{auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.CountyOfficer, auth.Auditor}
	// inspectorReaders see the inspector library (personal data); county
	// officers see their county's inspectors only (inspectorInScope).
	inspectorReaders = []auth.Role{auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.CountyOfficer, auth.Auditor}
)

// inspectorInScope refuses, as not found, an inspector of another county
// to a county officer and any inspector but themself to an inspector.
func (s *Server) inspectorInScope() gin.HandlerFunc {
	return func(c *gin.Context) {
		sc := principalOf(c).Scope()
		key := c.Param("key")
		if sc.InspectorKey != "" && sc.InspectorKey != key {
			abort(c, http.StatusNotFound, "not-found", "There is no inspector "+key+" that you can see.")
			return
		}
		if sc.County != "" {
			county, err := s.library().InspectorCounty(c.Request.Context(), key)
			if isNotFound(err) || (err == nil && county != sc.County) {
				abort(c, http.StatusNotFound, "not-found", "There is no inspector "+key+" that you can see.")
				return
			}
			if err != nil {
				s.fail(c, err)
				return
			}
		}
		c.Next()
	}
}

// countyFilter turns a county officer's scope into the region filter of a
// library list: their county, and 403 for another one asked for.
func countyFilter(c *gin.Context, asked string) (string, error) {
	sc := principalOf(c).Scope()
	if sc.County == "" {
		return asked, nil
	}
	if asked != "" && asked != sc.County {
		return "", fault.New(fault.Forbidden, "a county officer of %s sees only that county, not %s", sc.County, asked)
	}
	return sc.County, nil
}

// itemOfDepartment lets a department officer change only the check items
// of their own department ("谁管辖、谁负责"); others pass. For a new item
// the department is the body's department_code, checked by
// checkItemDepartment in the handler; for an existing one it is the
// stored item's.
func (s *Server) itemOfDepartment() gin.HandlerFunc {
	return func(c *gin.Context) {
		sc := principalOf(c).Scope()
		if sc.Department == "" || c.Param("code") == "" {
			c.Next()
			return
		}
		dept, err := s.library().ItemDepartment(c.Request.Context(), c.Param("code"))
		if isNotFound(err) {
			c.Next() // the handler answers 404
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		if dept != sc.Department {
			abort(c, http.StatusForbidden, "forbidden", "Check item "+c.Param("code")+" belongs to another department; a department officer of "+sc.Department+" changes only that department's items.")
			return
		}
		c.Next()
	}
}

// checkItemDepartment refuses a department officer's item for another
// department, or for none.
func checkItemDepartment(c *gin.Context, in library.CheckItemInput) error {
	sc := principalOf(c).Scope()
	if sc.Department != "" && strings.TrimSpace(in.DepartmentCode) != sc.Department {
		return fault.New(fault.Forbidden, "a department officer of %s creates items of that department only: set department_code to %s", sc.Department, sc.Department)
	}
	return nil
}

// countyOfRoute refuses a county officer acting on another county than
// the route's :county.
func countyOfRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		if sc := principalOf(c).Scope(); sc.County != "" && sc.County != c.Param("county") {
			abort(c, http.StatusForbidden, "forbidden", "A county officer of "+sc.County+" acts on that county only, not "+c.Param("county")+".")
			return
		}
		c.Next()
	}
}

func isNotFound(err error) bool {
	e, ok := fault.As(err)
	return ok && e.Kind == fault.NotFound
}

// library is the store of the item list and the libraries on the server's
// clock.
func (s *Server) library() *library.Store { return s.d.Services.Library }
