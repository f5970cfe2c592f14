package auth

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
)

// scopeTTL is how long a single sign-on scope lookup (county, department,
// inspector) is remembered.
const scopeTTL = 5 * time.Minute

// Authenticator turns bearer tokens into principals: API keys (checked
// against the database on every request, so revocation is immediate) and,
// when configured, single sign-on JWTs.
type Authenticator struct {
	db    *sqlx.DB
	stmts *pgtx.Statements
	jwt   *JWTVerifier
	now   func() time.Time
	// sessions, when set, authenticates the console's session tokens.
	sessions *Sessions

	mu     sync.Mutex
	scopes map[string]scopeEntry
}

type scopeEntry struct {
	value   string
	err     error
	expires time.Time
}

// NewAuthenticator authenticates against db; jwt nil means API keys only.
func NewAuthenticator(db *sqlx.DB, jwt *JWTVerifier) *Authenticator {
	return &Authenticator{db: db, stmts: pgtx.NewStatements(db), jwt: jwt, now: time.Now, scopes: map[string]scopeEntry{}}
}

// WithSessions makes a also accept the session tokens of sessions (the
// console's cookie, sent as a bearer token by the console's own calls),
// so that a session and an API key of the same role see the same.
func (a *Authenticator) WithSessions(sessions *Sessions) *Authenticator {
	a.sessions = sessions
	return a
}

// Authenticate returns the principal of a bearer token (the part after
// "Bearer "). Missing, malformed, unknown, expired and revoked tokens are
// Unauthorized faults; a valid token whose role or scope is unusable is
// Forbidden. Other errors are the server's.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return Principal{}, fault.New(fault.Unauthorized, "send a bearer token: Authorization: Bearer <API key or single sign-on token>")
	case strings.HasPrefix(token, TokenPrefix):
		return keyPrincipal(ctx, a.stmts, token, a.now())
	case strings.HasPrefix(token, SessionPrefix):
		if a.sessions == nil {
			return Principal{}, fault.New(fault.Unauthorized, "sessions are not enabled on this server: use an API key")
		}
		sess, err := a.sessions.Lookup(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		return sess.Principal(), nil
	case strings.Count(token, ".") == 2:
		if a.jwt == nil {
			return Principal{}, fault.New(fault.Unauthorized, "single sign-on is not configured on this server: use an API key")
		}
		p, err := a.jwt.Verify(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		return a.resolveScope(ctx, p)
	}
	return Principal{}, fault.New(fault.Unauthorized, "the bearer token is malformed: neither an API key (sc_…) nor a JSON Web Token")
}

// resolveScope checks a single sign-on principal's scope against the
// directories, accepting names as well as codes, as imports do.
func (a *Authenticator) resolveScope(ctx context.Context, p Principal) (Principal, error) {
	var err error
	switch p.Role {
	case CountyOfficer:
		p.County, err = a.cached(ctx, "county", p.County, lookupCounty)
	case DepartmentOfficer:
		p.Department, err = a.cached(ctx, "department", p.Department, lookupDepartment)
	case Inspector:
		p.InspectorKey, err = a.cached(ctx, "inspector", p.InspectorKey, lookupInspector)
	}
	if e, ok := fault.As(err); ok && e.Kind == fault.Invalid && len(e.Problems) == 1 {
		// The token is genuine but names a scope this server does not have.
		return Principal{}, fault.New(fault.Forbidden, "the token's %s: %s", e.Problems[0].Field, e.Problems[0].Message)
	}
	return p, err
}

type lookupFunc func(context.Context, sqlx.QueryerContext, string) (string, error)

func (a *Authenticator) cached(ctx context.Context, kind, value string, lookup lookupFunc) (string, error) {
	key := kind + "\x00" + value
	now := a.now()
	a.mu.Lock()
	e, ok := a.scopes[key]
	a.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.value, e.err
	}
	v, err := lookup(ctx, a.db, value)
	if err != nil && fault.KindOf(err) == 0 {
		return "", err // a database failure is not remembered
	}
	a.mu.Lock()
	if len(a.scopes) >= 10000 { // bounded: tokens are signed, but be safe
		a.scopes = map[string]scopeEntry{}
	}
	a.scopes[key] = scopeEntry{value: v, err: err, expires: now.Add(scopeTTL)}
	a.mu.Unlock()
	return v, err
}
