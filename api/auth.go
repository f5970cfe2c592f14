package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Authenticator turns a bearer token into the principal calling;
// *auth.Authenticator in production. Its errors are faults: Unauthorized
// for missing, malformed, unknown, expired and revoked tokens, Forbidden
// for a valid token without a usable role or scope.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

var _ Authenticator = (*auth.Authenticator)(nil)

// authenticate is the middleware of the /api/v1 group: it puts the
// caller's Principal in the request context (auth.PrincipalFrom) and its
// actor name where actorOf finds it, or answers 401 with
// WWW-Authenticate: Bearer. Auditors are read-only: anything but a read is
// refused to them here, whatever the route.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.d.Auth == nil {
			fail(c, s.log, errors.New("authentication is not configured: api.Deps.Auth is nil"))
			return
		}
		token, err := bearerToken(c.GetHeader("Authorization"))
		if err == nil {
			var p auth.Principal
			if p, err = s.d.Auth.Authenticate(c.Request.Context(), token); err == nil {
				if p.ReadOnly() && !isRead(c.Request.Method) {
					abort(c, http.StatusForbidden, "forbidden", fmt.Sprintf("Role %s reads and changes nothing; %s is not allowed.", p.Role, c.Request.Method))
					return
				}
				c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(), p))
				c.Set(actorKey, p.Actor())
				c.Next()
				return
			}
		}
		if errors.Is(err, auth.ErrKeysUnavailable) {
			s.log.Error("single sign-on keys unavailable", zap.String("request_id", c.GetString(requestIDKey)), zap.Error(err))
		}
		if fault.KindOf(err) == fault.Unauthorized {
			challenge := `Bearer realm="spotcheck"`
			if c.GetHeader("Authorization") != "" {
				challenge += `, error="invalid_token"`
			}
			c.Header("WWW-Authenticate", challenge)
		}
		s.fail(c, err)
	}
}

// bearerToken takes the token out of an Authorization header.
func bearerToken(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", fault.New(fault.Unauthorized, "this needs a bearer token: send Authorization: Bearer <API key or single sign-on token>")
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fault.New(fault.Unauthorized, "the Authorization header must use the Bearer scheme, not %q", scheme)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fault.New(fault.Unauthorized, "the Authorization header has no token after Bearer")
	}
	return token, nil
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// requireRole lets only principals of one of roles through; others get a
// 403 problem. It needs authenticate before it (without a principal it
// answers 401, so a route is never open by mistake).
func requireRole(roles ...auth.Role) gin.HandlerFunc {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	need := strings.Join(names, " or ")
	return func(c *gin.Context) {
		p, ok := auth.PrincipalFrom(c.Request.Context())
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="spotcheck"`)
			abort(c, http.StatusUnauthorized, "unauthorized", "This needs a bearer token: send Authorization: Bearer <API key or single sign-on token>.")
			return
		}
		if !p.Is(roles...) {
			abort(c, http.StatusForbidden, "forbidden", fmt.Sprintf("This needs role %s; you are %s.", need, p.Role))
			return
		}
		c.Next()
	}
}

// principalOf returns the caller's principal; the zero Principal (whose
// Scope is None) when the request was not authenticated.
func principalOf(c *gin.Context) auth.Principal {
	p, _ := auth.PrincipalFrom(c.Request.Context())
	return p
}

// me answers who the caller is, with the role's name for people and the
// scope the server applies.
func (s *Server) me(c *gin.Context) {
	p := principalOf(c)
	c.JSON(http.StatusOK, gin.H{
		"subject": p.Subject, "role": p.Role, "role_name": p.Role.Chinese(), "actor": p.Actor(),
		"county": p.County, "department": p.Department, "inspector_key": p.InspectorKey,
		"read_only": p.ReadOnly(),
	})
}
