package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

func TestPasswordRule(t *testing.T) {
	for _, c := range []struct{ user, pw, bad string }{
		{"zhang", "short1A", "at least 12"},
		{"zhang", "aaaaaaaaaaaaaa", "two kinds"},
		{"zhang", "myZhangPassword1", "username"},
		{"zhang", strings.Repeat("a1", 65), "at most 128"},
		{"zhang", "稳定的长口令甲乙丙丁2026", ""},
		{"zhang", "correct horse battery", ""},
	} {
		err := CheckPassword(c.user, c.pw)
		if (err == nil) != (c.bad == "") || (err != nil && !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("CheckPassword(%q) = %v, want %q", c.pw, err, c.bad)
		}
	}
	h, err := HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if ok, _ := VerifyPassword(h, "correct horse battery"); !ok {
		t.Error("right password refused")
	}
	if ok, _ := VerifyPassword(h, "correct horse batterY"); ok {
		t.Error("wrong password accepted")
	}
}

// TestSignInLockoutAndTimeouts walks an account through its life: a
// session from the right password, the lockout after five wrong ones (the
// right one refused meanwhile), the end of the lockout, the idle and the
// absolute timeout, sign-out, and the audit trail of it all.
func TestSignInLockoutAndTimeouts(t *testing.T) {
	db := testenv.DB(t)
	fixtures(t, db)
	ctx := context.Background()
	name := strings.ToLower(testenv.UniqueID("u"))
	const pw = "Jiaxing-coordinator-2026"
	if _, err := CreateUser(ctx, db, "cli:ops", NewUser{Username: name, Role: CountyOfficer, Password: pw}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("county officer without a county: %v", err)
	}
	u, err := CreateUser(ctx, db, "cli:ops", NewUser{Username: name, DisplayName: "王科长", Role: CountyOfficer, County: "南湖区", Password: pw})
	if err != nil || u.County != "330402" || !u.HasPassword {
		t.Fatalf("create: %+v %v", u, err)
	}
	if _, err := CreateUser(ctx, db, "cli:ops", NewUser{Username: name, Role: Coordinator, Password: pw}); fault.KindOf(err) != fault.Conflict {
		t.Errorf("second user of the same name: %v", err)
	}

	now := time.Date(2026, 12, 3, 9, 0, 0, 0, chinaTime)
	clock := func() time.Time { return now }
	s := NewSessions(db, SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}).WithClock(clock)
	a := NewAuthenticator(db, nil).WithSessions(s)
	cl := Client{Addr: "192.0.2.1", UserAgent: "test"}

	sess, token, err := s.SignIn(ctx, name, pw, cl)
	if err != nil || !sessionShape.MatchString(token) || len(sess.CSRF) < 32 {
		t.Fatalf("sign in: %v %q", err, token)
	}
	p, err := a.Authenticate(ctx, token)
	if want := (Principal{Subject: "user-" + name, Role: CountyOfficer, County: "330402"}); err != nil || p != want {
		t.Fatalf("session principal %+v %v, want %+v", p, err, want)
	}

	// Unknown users and wrong passwords get the same refusal.
	_, _, errUnknown := s.SignIn(ctx, name+"x", pw, cl)
	wantKind(t, "unknown user", errUnknown, fault.Unauthorized, "wrong username or password")
	for i := range MaxFailedSignIns {
		_, _, err := s.SignIn(ctx, name, pw+"?", cl)
		wantKind(t, "wrong password", err, fault.Unauthorized, "wrong username or password")
		if i < MaxFailedSignIns-1 {
			if _, _, err := s.SignIn(ctx, name, "", cl); err == nil {
				t.Fatal("empty password accepted")
			}
		}
	}
	_, _, err = s.SignIn(ctx, name, pw, cl)
	wantKind(t, "locked", err, fault.Unauthorized, "is locked after 5 failed sign-ins until 09:15")
	if e, _ := fault.As(err); e == nil || e.Details == nil || !e.Details.(ErrLocked).Until.Equal(now.Add(LockoutPeriod)) {
		t.Errorf("lock details: %+v", e)
	}
	now = now.Add(LockoutPeriod)
	if _, _, err := s.SignIn(ctx, name, pw, cl); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}

	// The first session: still open at 29 minutes idle, ended at 30.
	now = now.Add(-LockoutPeriod + 29*time.Minute)
	if _, err := a.Authenticate(ctx, token); err != nil {
		t.Fatalf("29 minutes idle: %v", err)
	}
	now = now.Add(30 * time.Minute) // 30 minutes after the touch above
	_, err = a.Authenticate(ctx, token)
	wantKind(t, "idle", err, fault.Unauthorized, "after 30 min without activity")

	// The absolute timeout, however active.
	now = time.Date(2026, 12, 3, 10, 0, 0, 0, chinaTime)
	_, token2, err := s.SignIn(ctx, name, pw, cl)
	if err != nil {
		t.Fatal(err)
	}
	for now.Add(20 * time.Minute).Before(time.Date(2026, 12, 3, 22, 0, 0, 0, chinaTime)) {
		now = now.Add(20 * time.Minute)
		if _, err := s.Lookup(ctx, token2); err != nil {
			t.Fatalf("active at %s: %v", now, err)
		}
	}
	now = time.Date(2026, 12, 3, 22, 0, 0, 0, chinaTime)
	_, err = s.Lookup(ctx, token2)
	wantKind(t, "absolute", err, fault.Unauthorized, "after 12 h")

	// Sign-out ends a session at once; twice is harmless.
	now = time.Date(2026, 12, 4, 9, 0, 0, 0, chinaTime)
	_, token3, err := s.SignIn(ctx, name, pw, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx, token3); err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx, token3); err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(ctx, token3)
	wantKind(t, "signed out", err, fault.Unauthorized, "the session has ended")

	var actions []string
	if err := db.Select(&actions, `SELECT action || ':' || coalesce(payload->>'reason', '') FROM audit_log WHERE entity = 'user' AND entity_id = $1 ORDER BY seq`, name); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(actions, " ")
	for _, want := range []string{"user.create:", "user.signin:", "user.signin_failed:wrong_password", "user.lock:", "user.signin_failed:locked", "user.signout:"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit trail lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "user.signin_failed:wrong_password user.signin_failed:wrong_password user.signin_failed:wrong_password user.signin_failed:wrong_password user.signin_failed:wrong_password user.signin_failed:wrong_password") {
		t.Error("more wrong passwords recorded than tried")
	}
	var unknown int
	if err := db.Get(&unknown, `SELECT count(*) FROM audit_log WHERE action = 'user.signin_failed' AND entity_id = $1 AND payload->>'reason' = 'unknown_user'`, name+"x"); err != nil || unknown != 1 {
		t.Errorf("unknown user's attempt recorded %d times (%v)", unknown, err)
	}
}
