package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// TestNamesBesideCodes: the drawn list (JSON and CSV), the progress, the
// tasks and the accountability ledger carry the county's name beside its
// code, the drawn list the items' names too; each filter takes the
// county's name as well as its code, and an unknown county is a 400.
func TestNamesBesideCodes(t *testing.T) {
	db := testenv.DB(t)
	id, county := matchedCounty(t, db, 2, "tag")
	var key, countyName string
	if err := db.Get(&key, `SELECT object_key FROM batch_objects WHERE batch_id = $1 AND position = 1`, id); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&countyName, `SELECT name FROM regions WHERE code = $1`, county); err != nil {
		t.Fatal(err)
	}
	db.MustExec(`INSERT INTO tasks (batch_id, object_key, county_code, stage, inspectors, overdue, seq, updated_at)
		VALUES ($1, $2, $3, 'assigned', '{}', '{inspection}', 1, now())`, id, key, county)
	db.MustExec(`INSERT INTO accountability (batch_id, object_key, county_code, duty, due, detected_at)
		VALUES ($1, $2, $3, 'inspection', '2026-06-30', now())`, id, key, county)
	h := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	coordinator := map[string]string{"Authorization": "Bearer coordinator"}
	for _, c := range []struct{ path, want string }{
		{"/api/v1/batches/" + id + "/objects?county=" + county, `"county_name":"` + countyName + `"`},
		{"/api/v1/batches/" + id + "/objects?county=" + countyName, `"item_names":["测试事项"]`},
		{"/api/v1/batches/" + id + "/progress", `"county_name":"` + countyName + `"`},
		{"/api/v1/batches/" + id + "/tasks?county=" + countyName, `"county_name":"` + countyName + `"`},
		{"/api/v1/accountability?batch=" + id + "&county=" + countyName, `"duty_name":"检查"`},
		{"/api/v1/accountability?batch=" + id + "&duty=检查", `"county_name":"` + countyName + `"`},
	} {
		rec := do(h, "GET", c.path, coordinator)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), c.want) || (!strings.HasSuffix(c.path, "/progress") && !strings.Contains(rec.Body.String(), key)) {
			t.Errorf("%s: %d, want %s in %s", c.path, rec.Code, c.want, rec.Body)
		}
	}
	if rec := do(h, "GET", "/api/v1/batches/"+id+"/tasks?county=海盐区", coordinator); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown county: %d %s", rec.Code, rec.Body)
	}
}
