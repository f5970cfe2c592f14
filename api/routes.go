package api

import "github.com/gin-gonic/gin"

// routes registers every resource: one line per area, each area's handlers
// in its own file. v1 is the authenticated API, pub the public disclosure
// (一公开) endpoints that need no token.
func (s *Server) routes(v1, pub *gin.RouterGroup) {
	s.libraryRoutes(v1)
	s.bulkRoutes(v1)
	s.accessRoutes(v1)
	s.userRoutes(v1)
	s.calendarRoutes(v1)
	s.contactRoutes(v1)
	s.notificationRoutes(v1)
	s.lifecycleRoutes(v1, pub)
	s.matchRoutes(v1)
	s.batchRoutes(v1, pub)
	s.planRoutes(v1, pub)
	s.caseRoutes(v1)
	s.statsRoutes(v1)
	s.dashboardRoutes(v1)
	s.reportRoutes(v1)
	s.worklistRoutes(v1)
	s.publicRoutes(pub)
}
