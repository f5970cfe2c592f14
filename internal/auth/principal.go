// Package auth says who is calling and what they may see: the Principal of
// a request, the roles, API keys (bearer tokens made by `spotcheck token
// create`, stored hashed) and single sign-on JWTs (RS256/ES256, verified
// against a JWKS, e.g. from 浙政钉) mapped to principals.
//
// Authorization follows "谁管辖、谁负责": a county officer sees and acts on
// their county only, an inspector on their own tasks. Stores read the
// Principal from the request context and turn its Scope into WHERE clauses.
package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Role is what a principal may do.
type Role string

// The roles.
const (
	// Admin runs the system: API keys, settings, everything.
	Admin Role = "admin"
	// Coordinator is the city bureau's coordinating office (市局执法局/政策法规处):
	// plans, draws and oversight of every county.
	Coordinator Role = "coordinator"
	// DepartmentOfficer works in one city department (处室/单位): its items,
	// plans and batches.
	DepartmentOfficer Role = "department_officer"
	// CountyOfficer works in one county bureau (县（市、区）局（分局）): its
	// assigned objects, matches, results and follow-ups.
	CountyOfficer Role = "county_officer"
	// Inspector is a certified inspector: their own tasks.
	Inspector Role = "inspector"
	// Auditor reads everything, match proofs and the audit trail included,
	// and changes nothing.
	Auditor Role = "auditor"
)

// Roles lists every role.
var Roles = []Role{Admin, Coordinator, DepartmentOfficer, CountyOfficer, Inspector, Auditor}

var roleNames = map[Role]string{
	Admin:             "系统管理员",
	Coordinator:       "市局统筹",
	DepartmentOfficer: "处室（单位）人员",
	CountyOfficer:     "县（市、区）局人员",
	Inspector:         "执法检查人员",
	Auditor:           "审计监督（只读）",
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if _, ok := roleNames[r]; !ok {
		return "", fault.Field("role", "%q is not a role: use one of %s", s, roleList())
	}
	return r, nil
}

// Chinese returns the role's name for people.
func (r Role) Chinese() string { return roleNames[r] }

func roleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Principal is who is calling. Only the scope field of its role is set:
// County for a county officer (a region code), Department for a department
// officer (a department code), InspectorKey for an inspector.
type Principal struct {
	// Subject identifies the caller within its credential kind: "key-12"
	// for API key 12, the single sign-on user ID for a JWT.
	Subject      string `json:"subject"`
	Role         Role   `json:"role"`
	County       string `json:"county,omitempty"`
	Department   string `json:"department,omitempty"`
	InspectorKey string `json:"inspector_key,omitempty"`
}

// Actor names the principal in change records and the audit trail:
// "<role>:<subject>".
func (p Principal) Actor() string { return string(p.Role) + ":" + p.Subject }

// Is reports whether the principal has one of roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// ReadOnly reports whether the principal may change nothing.
func (p Principal) ReadOnly() bool { return p.Role == Auditor }

// Scope is the part of the data a principal may see, for stores to turn
// into WHERE clauses. Empty fields do not limit; the zero Scope is
// everything (admin, coordinator, auditor).
type Scope struct {
	County       string
	Department   string
	InspectorKey string
	// None: nothing at all (a principal without a valid role; the
	// Authenticator never returns one).
	None bool
}

// All reports whether the scope is unlimited.
func (s Scope) All() bool { return s == Scope{} }

// Scope returns what the principal may see.
func (p Principal) Scope() Scope {
	switch p.Role {
	case CountyOfficer:
		return Scope{County: p.County}
	case DepartmentOfficer:
		return Scope{Department: p.Department}
	case Inspector:
		return Scope{InspectorKey: p.InspectorKey}
	case Admin, Coordinator, Auditor:
		return Scope{}
	}
	return Scope{None: true}
}

// Validate checks that the principal is complete: a known role, a
// subject, and exactly the scope its role needs. It does not look scopes
// up; CreateKey and the Authenticator do.
func (p Principal) Validate() error {
	var problems []fault.Problem
	bad := func(field, format string, args ...any) {
		problems = append(problems, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if _, ok := roleNames[p.Role]; !ok {
		bad("role", "%q is not a role: use one of %s", p.Role, roleList())
	}
	if p.Subject == "" || len(p.Subject) > 200 || strings.ContainsFunc(p.Subject, isControl) {
		bad("subject", "must be 1 to 200 characters without control characters")
	}
	scope := []struct {
		field, value string
		role         Role
		what         string
	}{
		{"county", p.County, CountyOfficer, "a county (region code)"},
		{"department", p.Department, DepartmentOfficer, "a department (code)"},
		{"inspector", p.InspectorKey, Inspector, "an inspector key"},
	}
	for _, s := range scope {
		switch {
		case p.Role == s.role && s.value == "":
			bad(s.field, "role %s needs %s", s.role, s.what)
		case p.Role != s.role && s.value != "":
			bad(s.field, "applies only to role %s, not %s", s.role, p.Role)
		}
	}
	return fault.Invalids("the principal is incomplete", problems)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
