package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// notificationsAPI serves the inbox of what was sent: which reminder,
// escalation or notice reached whom, when, over which channel, and whether
// it was delivered.
type notificationsAPI struct {
	s  *Server
	st *notify.Store
}

func (s *Server) notificationRoutes(v1 *gin.RouterGroup) {
	h := &notificationsAPI{s: s, st: s.d.Services.Notifications}
	v1.GET("/notifications", requireRole(auth.Admin, auth.Coordinator, auth.Auditor, auth.CountyOfficer, auth.Inspector), h.list)
}

// list answers GET /notifications?county=&role=&kind=&batch=, newest first;
// a county officer sees their county's only, an inspector those about the
// tasks they are on.
func (h *notificationsAPI) list(c *gin.Context) {
	q, cursor, limit, err := listQuery(c, "county", "role", "kind", "batch")
	if err != nil {
		h.s.fail(c, err)
		return
	}
	f := notify.InboxFilter{County: q.Get("county"), Role: q.Get("role"), Kind: q.Get("kind"), BatchID: q.Get("batch")}
	if sc := principalOf(c).Scope(); sc.County != "" {
		if f.County != "" && f.County != sc.County {
			h.s.fail(c, fault.New(fault.Forbidden, "a county officer of %s sees only that county", sc.County))
			return
		}
		f.County = sc.County
	}
	f.Inspector = principalOf(c).Scope().InspectorKey
	if f.Role != "" && !slices.Contains(notify.Roles, f.Role) {
		h.s.fail(c, fault.Field("role", "must be one of %s, got %q", strings.Join(notify.Roles, ", "), f.Role))
		return
	}
	after, err := inboxCursor(cursor)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	list, err := h.st.Inbox(c.Request.Context(), f, after, limit+1)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	page := Page[notify.Sent]{Items: list}
	if len(list) > limit {
		page.Items = list[:limit]
		last := list[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt.UTC().Format(time.RFC3339Nano) + " " + last.ID)
	}
	c.JSON(http.StatusOK, page)
}

// inboxCursor reads "time id", as list writes it.
func inboxCursor(cursor string) (*notify.InboxCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	at, id, ok := strings.Cut(cursor, " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return nil, fault.Field("cursor", "is not a cursor this server issued; start again without it")
	}
	return &notify.InboxCursor{CreatedAt: t, ID: id}, nil
}
