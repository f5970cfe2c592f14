package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// libraryAPI serves the item list, the two libraries, regions and
// departments: parse, call the store, answer.
type libraryAPI struct {
	s  *Server
	st *library.Store
}

// libraryRoutes registers the library resources on v1.
func (s *Server) libraryRoutes(v1 *gin.RouterGroup) {
	h := &libraryAPI{s: s, st: s.d.Services.Library}

	// Who may do what is the matrix of TestScopeMatrix (roles in scope.go).
	city, writers := requireRole(cityRoles...), requireRole(libraryWriters...)
	ownDept := s.itemOfDepartment()
	objReaders := requireRole(notInspectors...)
	inspReaders, inspScope := requireRole(inspectorReaders...), s.inspectorInScope()
	confReaders := requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.Auditor)

	v1.GET("/regions", h.listRegions)
	v1.POST("/regions", city, h.createRegion)
	v1.GET("/regions/:code", h.getRegion)
	v1.GET("/departments", h.listDepartments)
	v1.POST("/departments", city, h.createDepartment)

	v1.GET("/check-items", h.listItems)
	v1.POST("/check-items", writers, h.createItem)
	v1.GET("/check-items/:code", h.getItem)
	v1.GET("/check-items/:code/history", h.history(library.EntityCheckItem))
	v1.GET("/check-items/:code/versions", h.listVersions)
	v1.POST("/check-items/:code/versions", writers, ownDept, h.newVersion)
	v1.GET("/check-items/:code/versions/:version", h.getVersion)
	v1.POST("/check-items/:code/versions/:version/publish", writers, ownDept, h.publish(true))
	v1.POST("/check-items/:code/versions/:version/unpublish", writers, ownDept, h.publish(false))

	v1.GET("/objects", objReaders, h.listObjects)
	v1.POST("/objects", writers, h.createObject)
	v1.GET("/objects/:key", objReaders, h.getObject)
	v1.PUT("/objects/:key", writers, h.updateObject)
	v1.POST("/objects/:key/deactivate", writers, h.deactivateObject)
	v1.GET("/objects/:key/history", objReaders, h.history(library.EntityObject))
	v1.GET("/objects/:key/items", objReaders, h.applicableItems)
	v1.GET("/objects/:key/conflicts", confReaders, h.objectConflicts)

	v1.GET("/inspectors", inspReaders, h.listInspectors)
	v1.POST("/inspectors", writers, h.createInspector)
	v1.GET("/inspectors/:key", inspScope, h.getInspector)
	v1.PUT("/inspectors/:key", writers, h.updateInspector)
	v1.POST("/inspectors/:key/deactivate", writers, h.deactivateInspector)
	v1.GET("/inspectors/:key/history", inspReaders, inspScope, h.history(library.EntityInspector))
	v1.GET("/inspectors/:key/conflicts", inspScope, h.inspectorConflicts)
	v1.POST("/inspectors/:key/conflicts", writers, h.declareConflict)
	v1.DELETE("/inspectors/:key/conflicts/:object_key", writers, h.withdrawConflict)
}

func (h *libraryAPI) actor(c *gin.Context) library.Actor {
	return library.Actor{Name: actorOf(c), Source: "api"}
}

// checkQuery refuses query parameters other than those named, and any
// given more than once but tag, so that a misspelt filter is an error and
// not a silently unfiltered answer.
func checkQuery(c *gin.Context, params ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, fault.New(fault.Invalid, "the query string is malformed: %v", err)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(params, name) {
			if len(params) == 0 {
				return nil, fault.Field(name, "is not a parameter here; this resource takes none")
			}
			return nil, fault.Field(name, "is not a parameter here; use %s", strings.Join(params, ", "))
		}
		if name != "tag" && len(q[name]) > 1 {
			return nil, fault.Field(name, "is given %d times; give it once", len(q[name]))
		}
	}
	return q, nil
}

// listQuery is checkQuery for a paginated list, which also takes limit and
// cursor.
func listQuery(c *gin.Context, params ...string) (q url.Values, cursor string, limit int, err error) {
	if q, err = checkQuery(c, append(params, "limit", "cursor")...); err != nil {
		return nil, "", 0, err
	}
	cursor, limit, err = pageParams(c)
	return q, cursor, limit, err
}

// queryDate reads an optional date parameter.
func queryDate(q url.Values, name string) (*workday.Date, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	d, err := workday.ParseDate(s)
	if err != nil {
		return nil, fault.Field(name, "%q is not a date written as YYYY-MM-DD", s)
	}
	return &d, nil
}

// numericCursor decodes the cursor of lists ordered by a number.
func numericCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 1 {
		return 0, fault.Field("cursor", "is not a cursor this server issued; start again without it")
	}
	return n, nil
}

func numericNext(n int64) string {
	if n == 0 {
		return ""
	}
	return encodeCursor(strconv.FormatInt(n, 10))
}

// optionalIfMatch reads If-Match where it is allowed but not required; 0
// means absent.
func optionalIfMatch(c *gin.Context) (int64, error) {
	if strings.TrimSpace(c.GetHeader("If-Match")) == "" {
		return 0, nil
	}
	return ifMatch(c)
}

func versionParam(c *gin.Context) (int, error) {
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		return 0, fault.Field("version", "%q is not a version number", c.Param("version"))
	}
	return v, nil
}

func created(c *gin.Context, location string, version int64, body any) {
	c.Header("Location", location)
	c.Header("ETag", etag(version))
	c.JSON(http.StatusCreated, body)
}

func withETag(c *gin.Context, version int64, body any) {
	c.Header("ETag", etag(version))
	c.JSON(http.StatusOK, body)
}

// Regions and departments.

func (h *libraryAPI) listRegions(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "parent")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.st.Regions(c.Request.Context(), library.RegionFilter{Parent: q.Get("parent"), After: cursor, Limit: limit})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Region]{Items: list, NextCursor: encodeCursor(next)})
}

func (h *libraryAPI) createRegion(c *gin.Context) {
	var in library.RegionInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	r, err := h.st.CreateRegion(c.Request.Context(), h.actor(c), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/regions/"+url.PathEscape(r.Code))
	c.JSON(http.StatusCreated, r)
}

func (h *libraryAPI) getRegion(c *gin.Context) {
	r, err := h.st.Region(c.Request.Context(), c.Param("code"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (h *libraryAPI) listDepartments(c *gin.Context) {
	_, cursor, limit, err := listQuery(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.st.Departments(c.Request.Context(), cursor, limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Department]{Items: list, NextCursor: encodeCursor(next)})
}

func (h *libraryAPI) createDepartment(c *gin.Context) {
	var in library.DepartmentInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	d, err := h.st.CreateDepartment(c.Request.Context(), h.actor(c), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

// Check items.

func itemLocation(code string, version int) string {
	return "/api/v1/check-items/" + url.PathEscape(code) + "/versions/" + strconv.Itoa(version)
}

func (h *libraryAPI) listItems(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "kind", "class", "department", "published", "on", "q")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := library.ItemFilter{Kind: q.Get("kind"), Class: q.Get("class"), Department: q.Get("department"),
		Q: q.Get("q"), After: cursor, Limit: limit}
	if f.On, err = queryDate(q, "on"); err != nil {
		h.s.fail(c, err)
		return
	}
	if s := q.Get("published"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			h.s.fail(c, fault.Field("published", "must be true or false, got %q", s))
			return
		}
		f.Published = &b
	}
	list, next, err := h.st.CheckItems(c.Request.Context(), f)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.CheckItem]{Items: list, NextCursor: encodeCursor(next)})
}

func (h *libraryAPI) createItem(c *gin.Context) {
	var in library.CheckItemInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	if err := checkItemDepartment(c, in); err != nil {
		h.s.fail(c, err)
		return
	}
	item, err := h.st.CreateCheckItem(c.Request.Context(), h.actor(c), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	created(c, itemLocation(item.Code, item.Version), int64(item.Version), item)
}

// getItem answers the latest version, or with ?on=YYYY-MM-DD the version
// in force on that date. The ETag is the version number, which If-Match
// of a new version refers to.
func (h *libraryAPI) getItem(c *gin.Context) {
	q, err := checkQuery(c, "on")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	on, err := queryDate(q, "on")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var item library.CheckItem
	if on != nil {
		item, err = h.st.CheckItemOn(c.Request.Context(), c.Param("code"), *on)
	} else {
		item, err = h.st.CheckItem(c.Request.Context(), c.Param("code"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, int64(item.Version), item)
}

func (h *libraryAPI) listVersions(c *gin.Context) {
	_, cursor, limit, err := listQuery(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	after, err := numericCursor(cursor)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.st.CheckItemVersions(c.Request.Context(), c.Param("code"), int(after), limit)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.CheckItem]{Items: list, NextCursor: numericNext(int64(next))})
}

// newVersion adds the next version. If-Match, when sent, must name the
// latest version, so that two editors do not both build on the same one.
func (h *libraryAPI) newVersion(c *gin.Context) {
	basedOn, err := optionalIfMatch(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var in library.CheckItemInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	item, err := h.st.NewCheckItemVersion(c.Request.Context(), h.actor(c), c.Param("code"), int(basedOn), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	created(c, itemLocation(item.Code, item.Version), int64(item.Version), item)
}

func (h *libraryAPI) getVersion(c *gin.Context) {
	v, err := versionParam(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	item, err := h.st.CheckItemVersion(c.Request.Context(), c.Param("code"), v)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, int64(item.Version), item)
}

func (h *libraryAPI) publish(published bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		v, err := versionParam(c)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		var item library.CheckItem
		if published {
			item, err = h.st.PublishCheckItem(c.Request.Context(), h.actor(c), c.Param("code"), v)
		} else {
			item, err = h.st.UnpublishCheckItem(c.Request.Context(), h.actor(c), c.Param("code"), v)
		}
		if err != nil {
			h.s.fail(c, err)
			return
		}
		withETag(c, int64(item.Version), item)
	}
}

// history serves the change records of one entity, oldest first.
func (h *libraryAPI) history(e library.Entity) gin.HandlerFunc {
	return func(c *gin.Context) {
		_, cursor, limit, err := listQuery(c)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		after, err := numericCursor(cursor)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		key := c.Param("key")
		if e == library.EntityCheckItem {
			key = c.Param("code")
		}
		list, next, err := h.st.History(c.Request.Context(), e, key, after, limit)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, Page[library.Change]{Items: list, NextCursor: numericNext(next)})
	}
}

// Objects.

func objectLocation(key string) string { return "/api/v1/objects/" + url.PathEscape(key) }

func filterOf(q url.Values, cursor string, limit int) library.Filter {
	return library.Filter{Region: q.Get("region"), Kind: q.Get("kind"), Tags: q["tag"], Risk: q.Get("risk"),
		Credit: q.Get("credit"), Status: q.Get("status"), Q: q.Get("q"), After: cursor, Limit: limit}
}

func (h *libraryAPI) listObjects(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "region", "kind", "tag", "risk", "credit", "status", "q")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.st.Objects(c.Request.Context(), filterOf(q, cursor, limit))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Object]{Items: list, NextCursor: encodeCursor(next)})
}

func (h *libraryAPI) createObject(c *gin.Context) {
	var in library.ObjectInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	o, err := h.st.CreateObject(c.Request.Context(), h.actor(c), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	created(c, objectLocation(o.Key), o.RowVersion, o)
}

func (h *libraryAPI) getObject(c *gin.Context) {
	o, err := h.st.Object(c.Request.Context(), c.Param("key"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, o.RowVersion, o)
}

func (h *libraryAPI) updateObject(c *gin.Context) {
	version, err := ifMatch(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var in library.ObjectInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	o, err := h.st.UpdateObject(c.Request.Context(), h.actor(c), c.Param("key"), version, in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, o.RowVersion, o)
}

// deactivateBody optionally names the inactive status to set.
type deactivateBody struct {
	Status string `json:"status"`
}

// readDeactivate reads the optional body and If-Match of a deactivation.
func readDeactivate(c *gin.Context) (deactivateBody, int64, error) {
	var b deactivateBody
	version, err := optionalIfMatch(c)
	if err != nil {
		return b, 0, err
	}
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &b); err != nil {
			return b, 0, err
		}
	}
	return b, version, nil
}

func (h *libraryAPI) deactivateObject(c *gin.Context) {
	b, version, err := readDeactivate(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	o, err := h.st.DeactivateObject(c.Request.Context(), h.actor(c), c.Param("key"), b.Status, version)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, o.RowVersion, o)
}

func (h *libraryAPI) applicableItems(c *gin.Context) {
	q, err := checkQuery(c, "on")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	on, err := queryDate(q, "on")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var list []library.CheckItem
	if on != nil {
		list, err = h.st.ApplicableItemsOn(c.Request.Context(), c.Param("key"), *on)
	} else {
		list, err = h.st.ApplicableItems(c.Request.Context(), c.Param("key"))
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.CheckItem]{Items: list})
}

func (h *libraryAPI) objectConflicts(c *gin.Context) {
	list, err := h.st.ConflictsOfObject(c.Request.Context(), c.Param("key"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Conflict]{Items: list})
}

// Inspectors.

func inspectorLocation(key string) string { return "/api/v1/inspectors/" + url.PathEscape(key) }

func (h *libraryAPI) listInspectors(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "region", "tag", "status", "q")
	if err == nil {
		var region string
		region, err = countyFilter(c, q.Get("region"))
		q.Set("region", region)
	}
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, next, err := h.st.Inspectors(c.Request.Context(), filterOf(q, cursor, limit))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Inspector]{Items: list, NextCursor: encodeCursor(next)})
}

func (h *libraryAPI) createInspector(c *gin.Context) {
	var in library.InspectorInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	i, err := h.st.CreateInspector(c.Request.Context(), h.actor(c), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	created(c, inspectorLocation(i.Key), i.RowVersion, i)
}

func (h *libraryAPI) getInspector(c *gin.Context) {
	i, err := h.st.Inspector(c.Request.Context(), c.Param("key"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, i.RowVersion, i)
}

func (h *libraryAPI) updateInspector(c *gin.Context) {
	version, err := ifMatch(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var in library.InspectorInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	i, err := h.st.UpdateInspector(c.Request.Context(), h.actor(c), c.Param("key"), version, in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, i.RowVersion, i)
}

func (h *libraryAPI) deactivateInspector(c *gin.Context) {
	b, version, err := readDeactivate(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	i, err := h.st.DeactivateInspector(c.Request.Context(), h.actor(c), c.Param("key"), b.Status, version)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	withETag(c, i.RowVersion, i)
}

func (h *libraryAPI) inspectorConflicts(c *gin.Context) {
	list, err := h.st.ConflictsOfInspector(c.Request.Context(), c.Param("key"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[library.Conflict]{Items: list})
}

func (h *libraryAPI) declareConflict(c *gin.Context) {
	var in library.ConflictInput
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	cf, err := h.st.DeclareConflict(c.Request.Context(), h.actor(c), c.Param("key"), in)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", inspectorLocation(cf.InspectorKey)+"/conflicts/"+url.PathEscape(cf.ObjectKey))
	c.JSON(http.StatusCreated, cf)
}

func (h *libraryAPI) withdrawConflict(c *gin.Context) {
	if err := h.st.WithdrawConflict(c.Request.Context(), h.actor(c), c.Param("key"), c.Param("object_key")); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
