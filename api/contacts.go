package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// contactsAPI serves the notification contacts: who holds which role in
// which county, and on which channel they are told.
type contactsAPI struct {
	s  *Server
	st *notify.Store
}

// contactRoutes registers the contact resources on v1.
func (s *Server) contactRoutes(v1 *gin.RouterGroup) {
	h := &contactsAPI{s: s, st: s.d.Services.Notifications}
	// Contacts are people's addresses: the city's office and auditors.
	readers, writers := requireRole(auth.Admin, auth.Coordinator, auth.Auditor), requireRole(cityRoles...)
	v1.GET("/contacts", readers, h.list)
	v1.POST("/contacts", writers, h.create)
	v1.GET("/contacts/:id", readers, h.get)
	v1.DELETE("/contacts/:id", writers, h.delete)
}

func contactID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fault.Field("id", "%q is not a contact ID", c.Param("id"))
	}
	return id, nil
}

func contactLocation(id int64) string { return "/api/v1/contacts/" + strconv.FormatInt(id, 10) }

// list answers GET /contacts?region_code=&role=&channel=, by ID.
func (h *contactsAPI) list(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "region_code", "role", "channel")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	after, err := numericCursor(cursor)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := notify.ContactFilter{RegionCode: q.Get("region_code"), Role: q.Get("role"), Channel: q.Get("channel")}
	// One more than asked says whether there is a next page.
	list, err := h.st.Contacts(c.Request.Context(), f, after, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	var next int64
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	c.JSON(http.StatusOK, Page[notify.Contact]{Items: list, NextCursor: numericNext(next)})
}

func (h *contactsAPI) create(c *gin.Context) {
	var in notify.NewContact
	if err := decodeJSON(c, &in); err != nil {
		h.s.fail(c, err)
		return
	}
	ct, err := h.st.AddContact(c.Request.Context(), in, actorOf(c))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", contactLocation(ct.ID))
	c.JSON(http.StatusCreated, ct)
}

func (h *contactsAPI) get(c *gin.Context) {
	id, err := contactID(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	ct, err := h.st.Contact(c.Request.Context(), id)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ct)
}

// delete retires a contact; its past deliveries keep naming it.
func (h *contactsAPI) delete(c *gin.Context) {
	id, err := contactID(c)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if err := h.st.DeleteContact(c.Request.Context(), id, actorOf(c)); err != nil {
		h.s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
