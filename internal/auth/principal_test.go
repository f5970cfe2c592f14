package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

func TestPrincipalValidate(t *testing.T) {
	cases := []struct {
		p    Principal
		want string // empty: valid
	}{
		{Principal{Subject: "key-1", Role: Admin}, ""},
		{Principal{Subject: "zhang", Role: Coordinator}, ""},
		{Principal{Subject: "li", Role: Auditor}, ""},
		{Principal{Subject: "wang", Role: CountyOfficer, County: "330402"}, ""},
		{Principal{Subject: "zhao", Role: DepartmentOfficer, Department: "ZFJ"}, ""},
		{Principal{Subject: "sun", Role: Inspector, InspectorKey: "JX-0001"}, ""},
		{Principal{Subject: "wang", Role: CountyOfficer}, "county: role county_officer needs a county"},
		{Principal{Subject: "zhao", Role: DepartmentOfficer}, "department: role department_officer needs a department"},
		{Principal{Subject: "sun", Role: Inspector}, "inspector: role inspector needs an inspector key"},
		{Principal{Subject: "zhang", Role: Coordinator, County: "330402"}, "county: applies only to role county_officer, not coordinator"},
		{Principal{Subject: "wang", Role: CountyOfficer, County: "330402", InspectorKey: "x"}, "inspector: applies only to role inspector"},
		{Principal{Subject: "x", Role: "superuser"}, `role: "superuser" is not a role`},
		{Principal{Role: Admin}, "subject: must be"},
		{Principal{Subject: "a\nb", Role: Admin}, "subject: must be"},
	}
	for _, c := range cases {
		err := c.p.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.p, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		case err != nil && fault.KindOf(err) != fault.Invalid:
			t.Errorf("%+v: kind %v", c.p, fault.KindOf(err))
		}
	}
}

func TestPrincipalScopeAndActor(t *testing.T) {
	cases := []struct {
		p     Principal
		scope Scope
	}{
		{Principal{Subject: "a", Role: Admin}, Scope{}},
		{Principal{Subject: "a", Role: Coordinator}, Scope{}},
		{Principal{Subject: "a", Role: Auditor}, Scope{}},
		{Principal{Subject: "a", Role: CountyOfficer, County: "330411"}, Scope{County: "330411"}},
		{Principal{Subject: "a", Role: DepartmentOfficer, Department: "ZFJ"}, Scope{Department: "ZFJ"}},
		{Principal{Subject: "a", Role: Inspector, InspectorKey: "JX-7"}, Scope{InspectorKey: "JX-7"}},
		{Principal{Subject: "a", Role: "ghost"}, Scope{None: true}},
	}
	for _, c := range cases {
		if got := c.p.Scope(); got != c.scope {
			t.Errorf("%s: scope %+v, want %+v", c.p.Role, got, c.scope)
		}
		if got := c.p.Scope().All(); got != (c.scope == Scope{}) {
			t.Errorf("%s: All() = %v", c.p.Role, got)
		}
	}
	p := Principal{Subject: "key-12", Role: CountyOfficer, County: "330402"}
	if p.Actor() != "county_officer:key-12" || !p.Is(Auditor, CountyOfficer) || p.Is(Admin) || p.ReadOnly() {
		t.Errorf("%+v", p)
	}
	if !(Principal{Role: Auditor}).ReadOnly() {
		t.Error("auditors must be read-only")
	}
}

func TestPrincipalInContext(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("principal in an empty context")
	}
	p := Principal{Subject: "zhang", Role: Coordinator}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), p))
	if !ok || got != p {
		t.Errorf("got %+v %v", got, ok)
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(" " + string(r) + " "); err != nil || got != r {
			t.Errorf("%s: %v %v", r, got, err)
		}
		if r.Chinese() == "" {
			t.Errorf("%s has no Chinese name", r)
		}
	}
	if _, err := ParseRole("root"); err == nil || !strings.Contains(err.Error(), "county_officer") {
		t.Errorf("root: %v", err)
	}
}

func TestParseRoleMap(t *testing.T) {
	m, err := ParseRoleMap(" zzd_admin = admin, 县局执法员=county_officer ")
	if err != nil || len(m) != 2 || m["zzd_admin"] != Admin || m["县局执法员"] != CountyOfficer {
		t.Errorf("%v %v", m, err)
	}
	if m, err := ParseRoleMap(""); m != nil || err != nil {
		t.Errorf("empty: %v %v", m, err)
	}
	for _, bad := range []string{"x", "x=root", "=admin"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
