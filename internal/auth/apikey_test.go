package auth

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixtures adds a department and an inspector once per database.
func fixtures(t *testing.T, db *sqlx.DB) {
	t.Helper()
	db.MustExec(`INSERT INTO departments (code, name) VALUES ('ZFJ', '执法局（政策法规处）') ON CONFLICT DO NOTHING`)
	db.MustExec(`INSERT INTO inspectors (key, name, region_code) VALUES ('JX-T-0001', '测试检查员', '330402') ON CONFLICT DO NOTHING`)
}

func wantKind(t *testing.T, what string, err error, kind fault.Kind, msg string) {
	t.Helper()
	if err == nil || fault.KindOf(err) != kind || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %v (kind %d), want kind %d saying %q", what, err, fault.KindOf(err), kind, msg)
	}
}

func TestKeyLifecycle(t *testing.T) {
	db := testenv.DB(t)
	fixtures(t, db)
	ctx := context.Background()
	a := NewAuthenticator(db, nil)

	k, token, err := CreateKey(ctx, db, "cli:ops", NewKey{Name: "南湖区 王科长", Role: CountyOfficer, County: "南湖区"})
	if err != nil {
		t.Fatal(err)
	}
	if !tokenShape.MatchString(token) || k.Prefix != token[:prefixLen] || k.County != "330402" || k.CreatedBy != "cli:ops" {
		t.Fatalf("key %+v, token %q", k, token)
	}
	// Only the token's SHA-256 is stored.
	var hashed bool
	if err := db.Get(&hashed, `SELECT token_hash = sha256(convert_to($1, 'UTF8')) FROM api_keys WHERE id = $2`, token, k.ID); err != nil || !hashed {
		t.Errorf("token not stored as its SHA-256: %v", err)
	}
	p, err := a.Authenticate(ctx, token)
	want := Principal{Subject: "key-" + strconv.FormatInt(k.ID, 10), Role: CountyOfficer, County: "330402"}
	if err != nil || p != want {
		t.Fatalf("authenticate: %+v %v, want %+v", p, err, want)
	}

	// A key that differs in one character is unknown.
	flip := "A"
	if token[10] == 'A' {
		flip = "B"
	}
	other := token[:10] + flip + token[11:]
	_, err = a.Authenticate(ctx, other)
	wantKind(t, "other key", err, fault.Unauthorized, "not known")
	_, err = a.Authenticate(ctx, "sc_short")
	wantKind(t, "short key", err, fault.Unauthorized, "malformed")
	_, err = a.Authenticate(ctx, "Basic dXNlcjpwYXNz")
	wantKind(t, "basic credentials", err, fault.Unauthorized, "malformed")
	_, err = a.Authenticate(ctx, "")
	wantKind(t, "no token", err, fault.Unauthorized, "send a bearer token")
	_, err = a.Authenticate(ctx, "a.b.c")
	wantKind(t, "JWT without single sign-on", err, fault.Unauthorized, "not configured")

	revoked, err := RevokeKey(ctx, db, "admin:key-1", k.ID)
	if err != nil || revoked.RevokedAt == nil || revoked.RevokedBy != "admin:key-1" || revoked.Status(time.Now()) != "revoked" {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	_, err = a.Authenticate(ctx, token)
	wantKind(t, "revoked key", err, fault.Unauthorized, "was revoked")
	_, err = RevokeKey(ctx, db, "admin:key-1", k.ID)
	wantKind(t, "revoke twice", err, fault.Conflict, "already revoked")
	_, err = RevokeKey(ctx, db, "admin:key-1", 987654321)
	wantKind(t, "revoke unknown", err, fault.NotFound, "no API key 987654321")

	// Both changes are in the audit trail, without the token.
	var rows []struct {
		Action  string `db:"action"`
		Actor   string `db:"actor"`
		Payload string `db:"payload"`
	}
	if err := db.Select(&rows, `SELECT action, actor, payload::text AS payload FROM audit_log WHERE entity = 'api_key' AND entity_id = $1 ORDER BY seq`, strconv.FormatInt(k.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Action != "token.create" || rows[0].Actor != "cli:ops" || rows[1].Action != "token.revoke" || rows[1].Actor != "admin:key-1" {
		t.Fatalf("audit rows = %+v", rows)
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(rows[0].Payload), &payload); err != nil || payload["county"] != "330402" || payload["role"] != "county_officer" || strings.Contains(rows[0].Payload, token[prefixLen:]) {
		t.Errorf("audit payload = %s", rows[0].Payload)
	}

	keys, err := ListKeys(ctx, db)
	if err != nil || len(keys) == 0 || keys[0].ID < k.ID {
		t.Errorf("list: %d keys, %v", len(keys), err)
	}
}

func TestKeyExpires(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	k, token, err := CreateKey(ctx, db, "cli:ops", NewKey{Role: Auditor, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(db, nil)
	if p, err := a.Authenticate(ctx, token); err != nil || p.Role != Auditor {
		t.Fatalf("before expiry: %+v %v", p, err)
	}
	a.now = func() time.Time { return exp.Add(time.Second) }
	_, err = a.Authenticate(ctx, token)
	wantKind(t, "after expiry", err, fault.Unauthorized, "expired at")
	stored := *k.ExpiresAt // to the microsecond
	if k.Status(stored) != "expired" || k.Status(stored.Add(-time.Microsecond)) != "active" {
		t.Errorf("status around expiry: %s %s", k.Status(stored), k.Status(stored.Add(-time.Microsecond)))
	}
}

func TestCreateKeyRefusesBadScopes(t *testing.T) {
	db := testenv.DB(t)
	fixtures(t, db)
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	cases := []struct {
		nk   NewKey
		want string
	}{
		{NewKey{Role: "root"}, `"root" is not a role`},
		{NewKey{Role: CountyOfficer}, "needs a county"},
		{NewKey{Role: CountyOfficer, County: "999999"}, `"999999" is neither the code nor the name of a region`},
		{NewKey{Role: CountyOfficer, County: "330400"}, "is the city, not a county"},
		{NewKey{Role: Coordinator, County: "330402"}, "applies only to role county_officer"},
		{NewKey{Role: DepartmentOfficer, Department: "NOPE"}, "neither the code nor the name of a department"},
		{NewKey{Role: Inspector, InspectorKey: "JX-NOBODY"}, "not the key of an inspector"},
		{NewKey{Role: Admin, InspectorKey: "JX-T-0001"}, "applies only to role inspector"},
		{NewKey{Role: Admin, ExpiresAt: &past}, "is not in the future"},
		{NewKey{Role: Admin, Name: "two\nlines"}, "on one line"},
	}
	var before int
	db.Get(&before, `SELECT count(*) FROM api_keys`)
	for _, c := range cases {
		_, _, err := CreateKey(ctx, db, "cli:ops", c.nk)
		wantKind(t, c.want, err, fault.Invalid, c.want)
	}
	var after int
	db.Get(&after, `SELECT count(*) FROM api_keys`)
	if after != before {
		t.Errorf("%d keys were stored by refused requests", after-before)
	}
	// Names work like codes, for departments as for counties.
	if k, _, err := CreateKey(ctx, db, "cli:ops", NewKey{Role: DepartmentOfficer, Department: "执法局（政策法规处）"}); err != nil || k.Department != "ZFJ" {
		t.Errorf("department by name: %+v %v", k, err)
	}
	if k, _, err := CreateKey(ctx, db, "cli:ops", NewKey{Role: Inspector, InspectorKey: "JX-T-0001"}); err != nil || k.Principal().InspectorKey != "JX-T-0001" {
		t.Errorf("inspector: %+v %v", k, err)
	}
}
