package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/demo"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// TestTargetedCase runs a complaint (投诉举报) against one object through
// the same inspection lifecycle as a drawn object, outside any draw.
func TestTargetedCase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a case on a real Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys := startSystem(t, ctx, "cases", roles{api: true, worker: true})
	if _, err := demo.Seed(ctx, sys.db, demo.Options{Objects: 300, Inspectors: 60}); err != nil {
		t.Fatal(err)
	}
	var object struct {
		Key    string `db:"key"`
		Region string `db:"region_code"`
	}
	if err := sys.db.GetContext(ctx, &object, `SELECT key, region_code FROM objects WHERE region_code = '330481' AND kind = 'project' ORDER BY key LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var team []string
	if err := sys.db.SelectContext(ctx, &team, `SELECT key FROM inspectors WHERE region_code = '330481' AND status = 'active'
		AND certificate_valid_until > current_date + 90 ORDER BY key LIMIT 2`); err != nil || len(team) != 2 {
		t.Fatalf("team %v %v", team, err)
	}
	coordinator := sys.token(auth.Coordinator, "")
	officer := sys.token(auth.CountyOfficer, "330481")
	id := testenv.UniqueID("TS")
	today := workday.DateOf(time.Now())
	req := map[string]any{"id": id, "source": "complaint", "source_ref": "12345 热线", "summary": "群众投诉土地复垦未按方案实施",
		"object_key": object.Key, "item_codes": []string{"ZR-01"}, "inspection_end": today.AddDays(30).String()}
	bad := map[string]any{}
	for k, v := range req {
		bad[k] = v
	}
	bad["source"] = "rumour"
	sys.call("POST", "/api/v1/cases", coordinator, bad, http.StatusBadRequest)
	created := sys.call("POST", "/api/v1/cases", coordinator, req, http.StatusCreated)
	if created["county_code"] != "330481" {
		t.Fatalf("the case went to %v, want the object's county 330481", created["county_code"])
	}
	sys.call("POST", "/api/v1/cases/"+id+"/assign", sys.token(auth.CountyOfficer, "330402"), map[string]any{"inspectors": team}, http.StatusNotFound) // another county does not see it
	sys.call("POST", "/api/v1/cases/"+id+"/assign", officer, map[string]any{"inspectors": team}, http.StatusOK)
	if got := sys.call("GET", "/api/v1/cases/"+id, officer, nil, http.StatusOK); got["source_name"] != "投诉举报" {
		t.Errorf("the case as read: %v", got)
	}

	batchID := created["batch_id"].(string)
	path := "/api/v1/batches/" + batchID + "/tasks/" + object.Key
	sys.eventually("the case's task", time.Minute, func() bool {
		return len(sys.tasks(batchID, coordinator, "&stage=assigned")) == 1
	})
	sys.call("POST", path+"/inspected", officer, map[string]any{"completed_on": today.String()}, http.StatusOK)
	sys.call("POST", path+"/result", officer, map[string]any{"result_code": "corrected", "method": "on_site"}, http.StatusOK)
	sys.call("POST", path+"/review", officer, map[string]any{"approve": true}, http.StatusOK)
	sys.call("POST", path+"/follow-up", officer, map[string]any{"completed_on": today.String(), "actions": []string{"order_correction"}}, http.StatusOK)
	sys.eventually("the case closed", time.Minute, func() bool {
		return sys.call("GET", path, coordinator, nil, http.StatusOK)["stage"] == "closed"
	})
	var published int
	sys.db.GetContext(ctx, &published, `SELECT count(*) FROM publications WHERE batch_id = $1`, batchID)
	if published != 1 {
		t.Errorf("%d publications of the case's result", published)
	}
}
