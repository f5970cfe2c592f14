package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
)

// usersAPI manages the console's accounts.
type usersAPI struct {
	s        *Server
	accounts *auth.Accounts
}

// userRoutes are the console's accounts: an administrator lists and
// creates them (as `spotcheck user create` does).
func (s *Server) userRoutes(v1 *gin.RouterGroup) {
	h := &usersAPI{s: s, accounts: s.d.Services.Accounts}
	admin := requireRole(auth.Admin)
	v1.GET("/users", admin, h.listUsers)
	v1.POST("/users", admin, h.createUser)
}

func (h *usersAPI) listUsers(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	users, err := h.accounts.List(c.Request.Context())
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, Page[auth.User]{Items: users})
}

// createUser answers POST /users with the account (never its password).
func (h *usersAPI) createUser(c *gin.Context) {
	var body struct {
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Role        string `json:"role"`
		County      string `json:"county"`
		Department  string `json:"department"`
		Inspector   string `json:"inspector"`
		Password    string `json:"password"`
	}
	if err := decodeJSON(c, &body); err != nil {
		h.s.fail(c, err)
		return
	}
	role, err := auth.ParseRole(body.Role)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	u, err := h.accounts.Create(c.Request.Context(), actorOf(c), auth.NewUser{Username: body.Username, DisplayName: body.DisplayName,
		Role: role, County: body.County, Department: body.Department, InspectorKey: body.Inspector, Password: body.Password})
	if err != nil {
		h.s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/users")
	c.JSON(http.StatusCreated, u)
}
