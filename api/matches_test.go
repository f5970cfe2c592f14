package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// matchedCounty stores a locked batch of n objects in a county of its own
// with a pool of six inspectors, tagged "tag", and returns the batch ID and
// county. Objects needing tag get k = 2 from an item requiring it.
func matchedCounty(t *testing.T, db *sqlx.DB, n int, tag string) (batchID, county string) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	sfx := strings.ToUpper(hex.EncodeToString(b[:]))
	county, batchID, item := "C"+sfx, "M-"+sfx, "ZR-"+sfx
	var seed [32]byte
	rand.Read(seed[:])
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("91%s%04d", sfx, i))
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO regions (code, name, parent_code) VALUES ($1, $2, '330400')`, []any{county, "测试县" + sfx}},
		{`INSERT INTO check_items (code, version, name, object_kind, methods, class, default_ratio, effective_from, published, required_tags)
			VALUES ($1, 1, '测试事项', 'enterprise', '{on_site}', 'general', '0.1', '2026-01-01', true, ARRAY[$2::text])`, []any{item, tag}},
		{`INSERT INTO inspectors (key, name, region_code, certificate_valid_until, tags)
			SELECT $1::text || '-' || n, '检查员' || n, $2, '2027-12-31', ARRAY['tag'] FROM generate_series(1, 6) AS n`, []any{sfx, county}},
		{`INSERT INTO batches (id, state, rules, request_digest, commitment, committed_at, population_hash, strata, frozen_at,
				beacon, seed, proof, drawn_at, locked_at, created_by)
			VALUES ($1, 'locked', '{}', 'test', repeat('a', 64), now(), repeat('b', 64), '[]', now(), '', $2, '{}', now(), now(), 'test')`,
			[]any{batchID, hex.EncodeToString(seed[:])}},
		{`INSERT INTO batch_items (batch_id, position, item_code, item_version) VALUES ($1, 0, $2, 1)`, []any{batchID, item}},
		{`INSERT INTO batch_objects (batch_id, position, object_key, stratum, item_codes, region_code, county_code)
			SELECT $1, n, k, 'item=' || $3, ARRAY[$3], $2, $2 FROM unnest($4::text[]) WITH ORDINALITY AS u (k, n)`,
			[]any{batchID, county, item, pq.Array(keys)}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	return batchID, county
}

func newMatchHandler(t *testing.T, db *sqlx.DB) http.Handler {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(requestID())
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: roleTokens{}}, log: zap.NewNop()}
	s.matchRoutes(r.Group("/api/v1", s.authenticate()))
	// The answer an infeasible match gets through the workflow: the fault
	// crosses Temporal as an application error and comes back.
	r.POST("/infeasible/:id/:county", func(c *gin.Context) {
		_, err := staffing.NewService(db).MatchCounty(c.Request.Context(), staffing.MatchInput{
			BatchID: c.Param("id"), County: c.Param("county"), InspectionEnd: workday.Date{Year: 2026, Month: 6, Day: 30}})
		if f, ok := activities.AsFault(activities.Reject(err)); ok {
			err = f
		}
		s.fail(c, err)
	})
	return checked(t, r)
}

func TestMatchProofAPI(t *testing.T) {
	db := testenv.DB(t)
	h := newMatchHandler(t, db)
	ctx := context.Background()
	id, county := matchedCounty(t, db, 5, "tag")
	svc := staffing.NewService(db)
	res, err := svc.MatchCounty(ctx, staffing.MatchInput{BatchID: id, County: county, Beacon: "b",
		InspectionEnd: workday.Date{Year: 2026, Month: 6, Day: 30}, By: "county_officer:test"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/batches/" + id + "/counties/" + county + "/match-proof"

	for _, role := range []string{"auditor", "admin", "coordinator"} {
		rec := do(h, "GET", path, bearer(role))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", role, rec.Code, rec.Body)
		}
		var p staffing.Proof
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Kind != staffing.KindMatch || p.BatchID != id || len(p.Assignments) != 5 || p.MatchSeed != res.MatchSeed {
			t.Fatalf("%s: proof %+v", role, p)
		}
		if err := staffing.Verify(p); err != nil {
			t.Fatalf("served proof: %v", err)
		}
	}
	for role, status := range map[string]int{"county_officer/" + county: 403, "inspector/X": 403, "department_officer/D1": 403} {
		if rec := do(h, "GET", path, bearer(role)); rec.Code != status {
			t.Errorf("%s: %d %s", role, rec.Code, rec.Body)
		}
	}
	if rec := do(h, "GET", path, nil); rec.Code != 401 {
		t.Errorf("no token: %d", rec.Code)
	}
	for _, tt := range []struct {
		path   string
		status int
		text   string
	}{
		{"/api/v1/batches/" + id + "/counties/330411/match-proof", 404, "has not been matched"},
		{"/api/v1/batches/nope/counties/" + county + "/match-proof", 404, "no batch nope"},
		{path + "?dept=x", 400, "dept"},
		{path + "?round=2", 400, "give object too"},
		{path + "?object=x&round=1", 400, "2 or more"},
		{path + "?object=x", 404, "no replacement"},
		{path + "?department=D1", 404, "department \\\"D1\\\" matched no inspectors"},
	} {
		rec := do(h, "GET", tt.path, bearer("auditor"))
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.text) {
			t.Errorf("%s: %d %s", tt.path, rec.Code, rec.Body)
		}
	}

	// A replacement's proof, listed and served.
	var object string
	for k := range res.Teams {
		object = k
		break
	}
	rep, err := svc.Replace(ctx, staffing.ReplaceInput{BatchID: id, ObjectKey: object, InspectorKey: res.Teams[object][1], Reason: "因病", By: "county_officer:test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/api/v1/batches/"+id+"/counties/"+county+"/match-proofs", bearer("auditor"))
	var list struct {
		Items []struct {
			Kind  string `json:"kind"`
			Round int    `json:"round"`
			URL   string `json:"url"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 || len(list.Items) != 2 || list.Items[1].Kind != "replacement" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if list.Items[0].URL != path {
		t.Errorf("match proof URL %s", list.Items[0].URL)
	}
	rec = do(h, "GET", list.Items[1].URL, bearer("auditor"))
	var p staffing.Proof
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 200 || p.Kind != "replacement" || p.Replacement != rep.Replacement || p.Round != 2 {
		t.Fatalf("replacement proof: %d %s", rec.Code, rec.Body)
	}
	if err := staffing.Verify(p); err != nil {
		t.Fatalf("served replacement proof: %v", err)
	}
}

// An infeasible match answers 409 listing every object with its counts.
func TestInfeasibleMatchIs409WithEveryObject(t *testing.T) {
	db := testenv.DB(t)
	h := newMatchHandler(t, db)
	id, county := matchedCounty(t, db, 4, "mining") // nobody holds mining
	rec := do(h, "POST", "/infeasible/"+id+"/"+county, nil)
	p := problemOf(t, rec)
	if rec.Code != 409 || !strings.Contains(p.Detail, "4 of the objects") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	details, _ := json.Marshal(p.Details)
	var objects []staffing.Unstaffed
	if err := json.Unmarshal(details, &objects); err != nil || len(objects) != 4 {
		t.Fatalf("details %s: %v", details, err)
	}
	for _, o := range objects {
		if !strings.HasPrefix(o.ObjectKey, "91") || o.Eligible != 0 || o.Available != 0 {
			t.Errorf("object %+v", o)
		}
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM matches WHERE batch_id = $1`, id); err != nil || n != 0 {
		t.Errorf("%d proofs stored, %v", n, err)
	}
}

// TestSetAsideAPI: a county officer sets an object of their county aside
// before the match, with a reason, and finds it listed; the answers hold
// to the document (newMatchHandler is checked).
func TestSetAsideAPI(t *testing.T) {
	db := testenv.DB(t)
	h := newMatchHandler(t, db)
	id, county := matchedCounty(t, db, 3, "tag")
	var key string
	if err := db.Get(&key, `SELECT object_key FROM batch_objects WHERE batch_id = $1 ORDER BY position LIMIT 1`, id); err != nil {
		t.Fatal(err)
	}
	officer := map[string]string{"Authorization": "Bearer county_officer/" + county, "Content-Type": "application/json"}
	path := "/api/v1/batches/" + id + "/counties/" + county + "/set-asides"
	rec := doBody(h, "POST", path, `{"object_key":"`+key+`","reason":"全部符合条件的检查人员均须回避"}`, officer)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), key) {
		t.Fatalf("set aside: %d %s", rec.Code, rec.Body)
	}
	if rec := doBody(h, "POST", path, `{"object_key":"`+key+`","reason":"另一理由"}`, officer); rec.Code != 409 {
		t.Errorf("set aside again with another reason: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/batches/"+id+"/set-asides", bearer("coordinator")); rec.Code != 200 || !strings.Contains(rec.Body.String(), "均须回避") {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
}
