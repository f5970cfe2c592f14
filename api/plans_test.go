package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestPlanAPI(t *testing.T) {
	db := testenv.DB(t)
	item, sfx := drawFixture(t, db, 8)
	if _, err := db.Exec(`INSERT INTO departments (code, name) VALUES ($1, '计划测试处' || $1)`, "D"+sfx); err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: roleTokens{}, Temporal: testTemporal(t), TaskQueue: "api-plan-test"}, log: zap.NewNop()}
	s.planRoutes(e.Group("/api/v1", s.authenticate()), e.Group("/public"))
	r := checked(t, e)
	id := "P" + sfx
	// Next year's plan, so that its dates stay in the future whenever the
	// test runs.
	next := time.Now().Year() + 1
	body := fmt.Sprintf(`{"id":%q,"year":YEAR,"name":"测试计划","department_code":"D%s",
		"rules":{"items":[{"code":%q,"version":1}],"filter":{"kinds":[],"tags":[],"regions":[]},"strata_keys":["risk"],
		 "quotas":[{"when":{"risk":"high"},"ratio":"%s"},{"ratio":"0.5"}],"exclusions":{"apply_window_to_key_items":false,"apply_window_to_high_risk":false}},
		"batches":[{"draw_at":"YEAR-01-20"},{"draw_at":"YEAR-01-22"}],
		"inspection_start":"YEAR-01-01","inspection_end":"YEAR-03-31","joint_departments":[],"notes":""}`, id, sfx, item, "%s")
	body = strings.ReplaceAll(body, "YEAR", strconv.Itoa(next))
	coord := bearer("coordinator")
	if rec := doBody(r, "POST", "/api/v1/plans", fmt.Sprintf(body, "1.5"), coord); rec.Code != 400 || !strings.Contains(rec.Body.String(), "rules.quotas[0].ratio") {
		t.Fatalf("ratio above 1: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(r, "POST", "/api/v1/plans", fmt.Sprintf(body, "0.3"), bearer("department_officer/OTHER")); rec.Code != 403 {
		t.Errorf("another department: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(r, "POST", "/api/v1/plans", fmt.Sprintf(body, "0.3"), bearer("department_officer/D"+sfx)); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	// Edited (If-Match: the version read), submitted, returned for a
	// change and submitted again.
	owner := bearer("department_officer/D" + sfx)
	edit := map[string]string{"If-Match": `"1"`}
	maps.Copy(edit, owner)
	if rec := doBody(r, "PUT", "/api/v1/plans/"+id, strings.Replace(fmt.Sprintf(body, "0.3"), `"notes":""`, `"notes":"第二稿"`, 1), edit); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), "第二稿") {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	doBody(r, "POST", "/api/v1/plans/"+id+"/submit", "", owner)
	if rec := doBody(r, "POST", "/api/v1/plans/"+id+"/return", "", coord); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"state":"draft"`) {
		t.Fatalf("return: %d %s", rec.Code, rec.Body)
	}
	// The policy reads in the units it is written in.
	if rec := doBody(r, "GET", "/api/v1/plans/"+id, "", coord); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"beacon_wait_minutes":1440`) || !strings.Contains(rec.Body.String(), `"reminder_time":"09:00"`) ||
		!strings.Contains(rec.Body.String(), `"progress_seconds":60`) || strings.Contains(rec.Body.String(), `"beacon_wait"`) {
		t.Errorf("the plan's policy: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(r, "POST", "/api/v1/plans/"+id+"/start", "", coord); rec.Code != 409 || !strings.Contains(rec.Body.String(), "approved") {
		t.Errorf("start a draft: %d %s", rec.Code, rec.Body)
	}
	doBody(r, "POST", "/api/v1/plans/"+id+"/submit", "", bearer("department_officer/D"+sfx))
	if rec := doBody(r, "POST", "/api/v1/plans/"+id+"/approve", "", coord); rec.Code != 200 {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(r, "POST", "/api/v1/plans/"+id+"/approve", "", coord); rec.Code != 409 || !strings.Contains(rec.Body.String(), "already approved") {
		t.Errorf("approve twice: %d %s", rec.Code, rec.Body)
	}
	var runs []string
	for range 2 {
		rec := doBody(r, "POST", "/api/v1/plans/"+id+"/start", "", coord)
		if rec.Code != 202 {
			t.Fatalf("start: %d %s", rec.Code, rec.Body)
		}
		var got struct {
			RunID string `json:"run_id"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &got)
		runs = append(runs, got.RunID)
	}
	if runs[0] == "" || runs[0] != runs[1] {
		t.Errorf("start is not idempotent: %v", runs)
	}
	if rec := doBody(r, "GET", "/api/v1/city-plan?year="+strconv.Itoa(next), "", coord); rec.Code != 200 || !strings.Contains(rec.Body.String(), id) {
		t.Errorf("the city's plan: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(r, "GET", "/public/plans?year="+strconv.Itoa(next), "", nil); rec.Code != 200 || strings.Contains(rec.Body.String(), id) {
		t.Errorf("an unpublished plan is public: %d", rec.Code)
	}
	doBody(r, "POST", "/api/v1/plans/"+id+"/publish", "", coord)
	if rec := doBody(r, "GET", "/public/plans?year="+strconv.Itoa(next), "", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), id) ||
		strings.Contains(rec.Body.String(), `"beacon_wait"`) {
		t.Errorf("public plans: %d %s", rec.Code, rec.Body)
	}
	_ = http.StatusOK
}
