package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// A refused request reads in Chinese to a caller who asks for zh-CN (the
// console does), in English otherwise: title, detail and every problem.
func TestProblemsInChinese(t *testing.T) {
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	body := `{"rules": {"items": [], "strata_keys": ["colour"], "exclusions": {"window_days": -1}}}`
	for _, c := range []struct {
		lang        string
		title, want string
	}{
		{"zh-CN,zh;q=0.9", "请求有误", "请至少选择一个检查事项"},
		{"en-GB", "Bad Request", "needs at least one check item"},
		{"", "Bad Request", "needs at least one check item"},
	} {
		rec := doBody(h, http.MethodPost, "/api/v1/draw-simulations", body, map[string]string{
			"Authorization": "Bearer coordinator", "Content-Type": "application/json", "Accept-Language": c.lang})
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusBadRequest {
			t.Fatalf("%q: %d %s", c.lang, rec.Code, rec.Body)
		}
		var msgs []string
		for _, e := range p.Errors {
			msgs = append(msgs, e.Message)
		}
		all := strings.Join(msgs, " | ")
		if p.Title != c.title || !strings.Contains(all, c.want) {
			t.Errorf("%q: title %q, problems %s", c.lang, p.Title, all)
		}
		if c.title == "请求有误" {
			if strings.Contains(p.Detail+all, "must ") || strings.Contains(all, "is not a stratum key") || rec.Header().Get("Content-Language") != "zh-CN" {
				t.Errorf("English left in a Chinese answer: %s | %s", p.Detail, all)
			}
		}
	}
	// A refusal of the access rules, too.
	rec := doBody(h, http.MethodGet, "/api/v1/users", "", map[string]string{"Authorization": "Bearer coordinator", "Accept-Language": "zh-CN"})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "此操作需要角色 admin；您的角色是 coordinator。") {
		t.Errorf("403 in Chinese: %d %s", rec.Code, rec.Body)
	}
}
