package library

import "testing"

func TestCanonical(t *testing.T) {
	cases := []struct {
		v    *Vocabulary
		in   string
		want string
		ok   bool
	}{
		{RiskLevels, "高", "high", true},
		{RiskLevels, " High ", "high", true},
		{RiskLevels, "较高风险", "raised", true},
		{CreditClasses, "a", "A", true},
		{CreditClasses, "C类", "C", true},
		{ObjectKinds, "项目", "project", true},
		{ObjectStatuses, "注销", "cancelled", true},
		{Methods, "实地检查", "on_site", true},
		{RiskLevels, "extreme", "", false},
	}
	for _, c := range cases {
		got, ok := c.v.Canonical(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%s %q = %q, %v; want %q, %v", c.v.Name, c.in, got, ok, c.want, c.ok)
		}
	}
	if RiskLevels.Chinese("raised") != "较高" || len(ObjectKinds.Codes()) != 5 {
		t.Error("Chinese terms or codes wrong")
	}
}
