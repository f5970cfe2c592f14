package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/backend"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

// newAuthHandler builds the routes of this area behind the authentication
// middleware, as the lead wires /api/v1, plus /echo (outside the API's
// paths, so the contract check lets it pass) to see the actor.
func newAuthHandler(t *testing.T, db *sqlx.DB, a Authenticator) http.Handler {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(requestID())
	s := &Server{d: Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Auth: a}, log: zap.NewNop()}
	v1 := r.Group("/api/v1", s.authenticate())
	s.accessRoutes(v1)
	echo := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"actor": actorOf(c)}) }
	e := r.Group("/echo", s.authenticate())
	e.GET("", echo)
	e.POST("", echo)
	return checked(t, r)
}

func newKey(t *testing.T, db *sqlx.DB, nk auth.NewKey) (auth.Key, string) {
	t.Helper()
	k, token, err := auth.CreateKey(context.Background(), db, "test:setup", nk)
	if err != nil {
		t.Fatal(err)
	}
	return k, token
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, problemContentType) {
		t.Errorf("content type %q for %d %s", ct, rec.Code, rec.Body)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return p
}

func TestAuthenticationFailuresAre401(t *testing.T) {
	db := testenv.DB(t)
	h := newAuthHandler(t, db, auth.NewAuthenticator(db, nil))
	ctx := context.Background()
	expired, expiredToken := newKey(t, db, auth.NewKey{Role: auth.Admin})
	db.MustExec(`UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, expired.ID)
	revoked, revokedToken := newKey(t, db, auth.NewKey{Role: auth.Admin})
	if _, err := auth.RevokeKey(ctx, db, "test:setup", revoked.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		hdr       map[string]string
		challenge string
		detail    string
	}{
		{"missing", nil, `Bearer realm="spotcheck"`, "needs a bearer token"},
		{"basic", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, `Bearer realm="spotcheck", error="invalid_token"`, "Bearer scheme"},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, `Bearer realm="spotcheck", error="invalid_token"`, "no token after Bearer"},
		{"malformed", bearer("hello"), `Bearer realm="spotcheck", error="invalid_token"`, "malformed"},
		{"short key", bearer("sc_abc"), `Bearer realm="spotcheck", error="invalid_token"`, "malformed"},
		{"unknown key", bearer("sc_" + strings.Repeat("A", 43)), `Bearer realm="spotcheck", error="invalid_token"`, "not known"},
		{"JWT, no single sign-on", bearer("eyJhbGciOiJub25lIn0.e30.x"), `Bearer realm="spotcheck", error="invalid_token"`, "not configured"},
		{"expired", bearer(expiredToken), `Bearer realm="spotcheck", error="invalid_token"`, "expired at"},
		{"revoked", bearer(revokedToken), `Bearer realm="spotcheck", error="invalid_token"`, "was revoked"},
	}
	for _, c := range cases {
		rec := do(h, "GET", "/echo", c.hdr)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d %s", c.name, rec.Code, rec.Body)
			continue
		}
		if got := rec.Header().Get("WWW-Authenticate"); got != c.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.challenge)
		}
		if p := problemOf(t, rec); p.Status != 401 || !strings.Contains(p.Detail, c.detail) || p.Type != problemTypeBase+"unauthorized" {
			t.Errorf("%s: problem %+v, want detail with %q", c.name, p, c.detail)
		}
	}
}

func TestPrincipalReachesHandlers(t *testing.T) {
	db := testenv.DB(t)
	h := newAuthHandler(t, db, auth.NewAuthenticator(db, nil))
	k, token := newKey(t, db, auth.NewKey{Role: auth.CountyOfficer, County: "330482"})
	rec := do(h, "POST", "/echo", bearer(token))
	if want := fmt.Sprintf(`{"actor":"county_officer:key-%d"}`, k.ID); rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("echo: %d %s, want %s", rec.Code, rec.Body, want)
	}
	rec = do(h, "GET", "/api/v1/me", map[string]string{"Authorization": "bearer " + token})
	var me map[string]any
	json.Unmarshal(rec.Body.Bytes(), &me)
	if rec.Code != 200 || me["county"] != "330482" || me["role_name"] != "县（市、区）局人员" || me["read_only"] != false {
		t.Errorf("me: %d %s", rec.Code, rec.Body)
	}
}

func TestAuditorsAreReadOnly(t *testing.T) {
	db := testenv.DB(t)
	h := newAuthHandler(t, db, auth.NewAuthenticator(db, nil))
	_, token := newKey(t, db, auth.NewKey{Role: auth.Auditor})
	if rec := do(h, "GET", "/echo", bearer(token)); rec.Code != 200 {
		t.Errorf("auditor GET: %d %s", rec.Code, rec.Body)
	}
	rec := do(h, "POST", "/echo", bearer(token))
	if p := problemOf(t, rec); rec.Code != 403 || !strings.Contains(p.Detail, "changes nothing") {
		t.Errorf("auditor POST: %d %s", rec.Code, rec.Body)
	}
}

func TestAuditTrailNeedsAuditorOrAdmin(t *testing.T) {
	db := testenv.DB(t)
	h := newAuthHandler(t, db, auth.NewAuthenticator(db, nil))
	for _, r := range []auth.Role{auth.Coordinator, auth.CountyOfficer} {
		nk := auth.NewKey{Role: r}
		if r == auth.CountyOfficer {
			nk.County = "330421"
		}
		_, token := newKey(t, db, nk)
		for _, path := range []string{"/api/v1/audit", "/api/v1/audit/verify"} {
			rec := do(h, "GET", path, bearer(token))
			if p := problemOf(t, rec); rec.Code != 403 || !strings.Contains(p.Detail, "needs role auditor or admin; you are "+string(r)) {
				t.Errorf("%s %s: %d %s", r, path, rec.Code, rec.Body)
			}
		}
	}
	// Through the full handler, no token is a 401.
	full := testHandler(t, Deps{Log: zap.NewNop(), Services: backend.New(db, nil), Registry: prometheus.NewRegistry(), Auth: roleTokens{}})
	if rec := do(full, "GET", "/api/v1/audit", nil); rec.Code != 401 {
		t.Errorf("no token: %d %s", rec.Code, rec.Body)
	}
	// A handler whose Deps lack an Authenticator fails closed.
	s := &Server{d: Deps{Log: zap.NewNop()}, log: zap.NewNop()}
	r := gin.New() // not an API route: the middleware alone
	r.GET("/x", s.authenticate(), func(c *gin.Context) { c.Status(200) })
	if rec := do(r, "GET", "/x", bearer("sc_x")); rec.Code != 500 {
		t.Errorf("no authenticator: %d", rec.Code)
	}
}

func TestAuditorBrowsesAndVerifiesTheTrail(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	h := newAuthHandler(t, db, auth.NewAuthenticator(db, nil))
	_, token := newKey(t, db, auth.NewKey{Role: auth.Auditor})
	batch := testenv.UniqueID("audit-test")
	for i := 0; i < 5; i++ {
		action := "draw.execute"
		if i%2 == 1 {
			action = "match.assign"
		}
		if _, err := audit.Append(ctx, db, audit.Entry{Actor: "coordinator:zhang", Action: action, Entity: "batch", EntityID: batch,
			Payload: map[string]any{"i": i, "区": "南湖区"}}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) (Page[auditItem], int) {
		rec := do(h, "GET", "/api/v1/audit?"+query, bearer(token))
		var page Page[auditItem]
		json.Unmarshal(rec.Body.Bytes(), &page)
		return page, rec.Code
	}
	page, code := list("entity=batch&entity_id=" + batch + "&limit=2")
	if code != 200 || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %d %+v", code, page)
	}
	// The exact stored payload comes along, so the row's hash can be
	// recomputed from the API's answer alone.
	if r := page.Items[0]; r.Action != "draw.execute" || r.Actor != "coordinator:zhang" || r.PayloadText != `{"i": 4, "区": "南湖区"}` || r.At.Location().String() != "UTC" {
		t.Errorf("newest row: %+v", r)
	} else if h, _ := audit.Hash(r.PrevHash, audit.Record{Seq: r.Seq, At: r.At, Actor: r.Actor, Action: r.Action, Entity: r.Entity,
		EntityID: r.EntityID, Payload: []byte(r.PayloadText)}); h != r.Hash {
		t.Errorf("hash recomputed from the API: %s, row says %s", h, r.Hash)
	}
	var seen []int64
	for _, r := range page.Items {
		seen = append(seen, r.Seq)
	}
	for cursor := page.NextCursor; cursor != ""; {
		p, code := list("entity=batch&entity_id=" + batch + "&limit=2&cursor=" + cursor)
		if code != 200 {
			t.Fatalf("page: %d", code)
		}
		for _, r := range p.Items {
			seen = append(seen, r.Seq)
		}
		cursor = p.NextCursor
	}
	if len(seen) != 5 || seen[0] <= seen[4] {
		t.Errorf("pages gave %v", seen)
	}
	if page, _ := list("action=match.assign&entity_id=" + batch); len(page.Items) != 2 || page.NextCursor != "" {
		t.Errorf("match rows: %+v", page)
	}
	for _, q := range []string{"cursor=!!", "cursor=" + encodeCursor("x"), "limit=0", "entity_id=" + strings.Repeat("x", 201)} {
		rec := do(h, "GET", "/api/v1/audit?"+q, bearer(token))
		if p := problemOf(t, rec); rec.Code != 400 || len(p.Errors) != 1 {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}

	rec := do(h, "GET", "/api/v1/audit/verify", bearer(token))
	var rep audit.Report
	json.Unmarshal(rec.Body.Bytes(), &rep)
	if rec.Code != 200 || !rep.OK || rep.Rows < 5 || rep.HeadSeq != rep.Rows || len(rep.HeadHash) != 64 {
		t.Errorf("verify: %d %s", rec.Code, rec.Body)
	}
}

// roleTokens is an Authenticator for tests of any area once /api/v1 is
// behind authenticate: the bearer token names the principal, "role" or
// "role/scope", e.g. "coordinator", "county_officer/330402",
// "inspector/JX-0001". Its subject is "test".
type roleTokens struct{}

func (roleTokens) Authenticate(_ context.Context, token string) (auth.Principal, error) {
	role, scope, _ := strings.Cut(token, "/")
	p := auth.Principal{Subject: "test", Role: auth.Role(role)}
	switch p.Role {
	case auth.CountyOfficer:
		p.County = scope
	case auth.DepartmentOfficer:
		p.Department = scope
	case auth.Inspector:
		p.InspectorKey = scope
	}
	if err := p.Validate(); err != nil {
		return auth.Principal{}, fault.New(fault.Unauthorized, "test token %q: %v", token, err)
	}
	return p, nil
}

func TestRoleTokensForOtherAreasTests(t *testing.T) {
	h := newAuthHandler(t, testenv.DB(t), roleTokens{})
	rec := do(h, "GET", "/api/v1/me", bearer("inspector/JX-0001"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"actor":"inspector:test"`) || !strings.Contains(rec.Body.String(), `"inspector_key":"JX-0001"`) {
		t.Errorf("inspector: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/audit", bearer("admin")); rec.Code != 200 {
		t.Errorf("admin: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/me", bearer("county_officer")); rec.Code != 401 {
		t.Errorf("county officer without county: %d %s", rec.Code, rec.Body)
	}
}

// asAdmin sends requests without credentials as the admin, for tests of
// areas whose subject is not authentication.
func asAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer admin")
		}
		h.ServeHTTP(w, r)
	})
}
