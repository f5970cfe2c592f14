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

// TestUsersAPI: an admin creates a console account and finds it listed;
// the answer never carries the password.
func TestUsersAPI(t *testing.T) {
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(testenv.DB(t), nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	name := strings.ToLower(testenv.UniqueID("nanhu"))
	admin := map[string]string{"Authorization": "Bearer admin", "Content-Type": "application/json"}
	body := `{"username":"` + name + `","display_name":"南湖区局 王五","role":"county_officer","county":"330402","password":"Nanhu-2026-strong"}`
	rec := doBody(h, http.MethodPost, "/api/v1/users", body, admin)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), "Nanhu-2026") {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var u struct {
		Username    string `json:"username"`
		County      string `json:"county"`
		HasPassword bool   `json:"has_password"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil || u.Username != name || u.County != "330402" || !u.HasPassword {
		t.Errorf("created %+v (%v)", u, err)
	}
	if rec := doBody(h, http.MethodPost, "/api/v1/users", body, admin); rec.Code != http.StatusConflict {
		t.Errorf("the same username again: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, http.MethodGet, "/api/v1/users", bearer("admin")); rec.Code != 200 || !strings.Contains(rec.Body.String(), name) {
		t.Errorf("list: %d %.300s", rec.Code, rec.Body)
	}
}
