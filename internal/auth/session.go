package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// SessionPrefix starts every session token (the console's cookie), as
// TokenPrefix starts API keys: the Authenticator tells them apart by it.
const SessionPrefix = "ss_"

var sessionShape = regexp.MustCompile(`^ss_[A-Za-z0-9_-]{43}$`)

// SessionPolicy bounds a session's life: it ends after Idle without a
// request and, however active, Absolute after it was opened (OWASP Session
// Management: both timeouts, enforced on the server).
type SessionPolicy struct {
	Idle, Absolute time.Duration
}

// DefaultSessionPolicy is half an hour idle and a working day in all.
var DefaultSessionPolicy = SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}

// touchEvery is how stale last_seen_at may get before a request writes
// it: a write per request is not needed to count half an hour idle.
const touchEvery = 30 * time.Second

// Sessions opens, finds and ends the sessions of signed-in people.
type Sessions struct {
	db     *sqlx.DB
	policy SessionPolicy
	now    func() time.Time
}

// NewSessions returns the sessions on db under policy.
func NewSessions(db *sqlx.DB, policy SessionPolicy) *Sessions {
	return &Sessions{db: db, policy: policy, now: time.Now}
}

// WithClock returns the sessions with now as their clock (tests).
func (s *Sessions) WithClock(now func() time.Time) *Sessions {
	c := *s
	c.now = now
	return &c
}

// Policy returns the timeouts in force.
func (s *Sessions) Policy() SessionPolicy { return s.policy }

// Client is where a sign-in comes from, for the record.
type Client struct {
	Addr, UserAgent string
}

// Session is an open session and its user.
type Session struct {
	ID int64 `db:"id"`
	// CSRF is the token every form of the session must carry.
	CSRF       string    `db:"csrf_token"`
	Method     string    `db:"method"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	User       User      `db:"u"`
}

// Principal is who the session's requests are.
func (s Session) Principal() Principal { return s.User.Principal() }

// ErrLocked is the Details of the fault of a sign-in to a locked account:
// until when it is locked.
type ErrLocked struct{ Until time.Time }

// SignIn checks username and password and opens a session: it returns
// the session and its token (the cookie's value). Every attempt is in the
// audit trail; a wrong password counts towards the lockout, which refuses
// even the right password until it ends. The refusals are Unauthorized
// faults that do not say whether the username exists.
func (s *Sessions) SignIn(ctx context.Context, username, password string, cl Client) (Session, string, error) {
	username = strings.TrimSpace(username)
	if username == "" || password == "" || len(username) > 64 || len(password) > 4*maxPasswordLen {
		return Session{}, "", fault.New(fault.Unauthorized, "wrong username or password")
	}
	now := s.now()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Session{}, "", fmt.Errorf("sign in: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var row struct {
		User
		Hash sql.NullString `db:"password_hash"`
	}
	err = tx.GetContext(ctx, &row, `SELECT `+userColumns+`, password_hash FROM users WHERE username = $1 FOR UPDATE`, username)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = VerifyPassword(dummyHash(), password)
		return Session{}, "", s.refuse(ctx, tx, username, "unknown_user", cl, fault.New(fault.Unauthorized, "wrong username or password"))
	}
	if err != nil {
		return Session{}, "", fmt.Errorf("sign in %s: %w", username, err)
	}
	u := row.User
	switch {
	case u.DisabledAt != nil:
		return Session{}, "", s.refuse(ctx, tx, username, "disabled", cl, fault.New(fault.Unauthorized, "the account %s is disabled", username))
	case u.Locked(now):
		e := fault.New(fault.Unauthorized, "the account %s is locked after %d failed sign-ins until %s", username, MaxFailedSignIns,
			u.LockedUntil.In(chinaTime).Format("15:04"))
		e.Details = ErrLocked{Until: *u.LockedUntil}
		return Session{}, "", s.refuse(ctx, tx, username, "locked", cl, e)
	case !row.Hash.Valid:
		return Session{}, "", s.refuse(ctx, tx, username, "no_password", cl, fault.New(fault.Unauthorized, "wrong username or password"))
	}
	ok, err := VerifyPassword(row.Hash.String, password)
	if err != nil {
		return Session{}, "", fmt.Errorf("sign in %s: %w", username, err)
	}
	if !ok {
		failed := u.FailedSignIns + 1
		var until *time.Time
		if failed >= MaxFailedSignIns {
			t := now.Add(LockoutPeriod)
			until, failed = &t, 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_signins = $2, locked_until = coalesce($3, locked_until) WHERE id = $1`,
			u.ID, failed, until); err != nil {
			return Session{}, "", fmt.Errorf("sign in %s: %w", username, err)
		}
		if until != nil {
			if _, err := audit.Append(ctx, tx, audit.Entry{Actor: "system", Action: "user.lock", Entity: "user", EntityID: username,
				Payload: map[string]any{"failed_signins": MaxFailedSignIns, "locked_until": until.UTC().Format(time.RFC3339)}}); err != nil {
				return Session{}, "", err
			}
		}
		return Session{}, "", s.refuse(ctx, tx, username, "wrong_password", cl, fault.New(fault.Unauthorized, "wrong username or password"))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1`, u.ID); err != nil {
		return Session{}, "", fmt.Errorf("sign in %s: %w", username, err)
	}
	u.FailedSignIns, u.LockedUntil = 0, nil
	sess, token, err := s.open(ctx, tx, u, "password", cl, now)
	if err != nil {
		return Session{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return Session{}, "", fmt.Errorf("sign in %s: %w", username, err)
	}
	return sess, token, nil
}

// refuse records a failed sign-in, commits and returns refusal.
func (s *Sessions) refuse(ctx context.Context, tx *sqlx.Tx, username, reason string, cl Client, refusal error) error {
	if len(username) > 64 || strings.ContainsFunc(username, isControl) {
		username = strconv.Quote(username[:min(len(username), 64)])
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: "anonymous", Action: "user.signin_failed", Entity: "user", EntityID: username,
		Payload: map[string]any{"reason": reason, "remote": cl.Addr}}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record failed sign-in of %s: %w", username, err)
	}
	return refusal
}

// open stores a new session of u in tx and records the sign-in.
func (s *Sessions) open(ctx context.Context, tx *sqlx.Tx, u User, method string, cl Client, now time.Time) (Session, string, error) {
	token, err := randomToken(SessionPrefix)
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := randomToken("")
	if err != nil {
		return Session{}, "", err
	}
	ua := cl.UserAgent
	if len(ua) > 500 {
		ua = ua[:500]
	}
	sess := Session{CSRF: csrf, Method: method, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.policy.Absolute), User: u}
	err = tx.GetContext(ctx, &sess.ID, `INSERT INTO sessions (token_hash, csrf_token, user_id, method, created_at, last_seen_at, expires_at, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id`, tokenHash(token), csrf, u.ID, method, now, sess.ExpiresAt, cl.Addr, strings.ToValidUTF8(ua, ""))
	if err != nil {
		return Session{}, "", fmt.Errorf("open session of %s: %w", u.Username, err)
	}
	// The user's sessions that ended a month ago are of no further use
	// (the audit trail keeps the sign-ins): the table does not grow for
	// ever.
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND coalesce(ended_at, expires_at) < $2`,
		u.ID, now.AddDate(0, 0, -30)); err != nil {
		return Session{}, "", fmt.Errorf("clear old sessions of %s: %w", u.Username, err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: u.Principal().Actor(), Action: "user.signin", Entity: "user", EntityID: u.Username,
		Payload: map[string]any{"session": sess.ID, "method": method, "remote": cl.Addr}}); err != nil {
		return Session{}, "", err
	}
	return sess, token, nil
}

const sessionColumns = `s.id, s.csrf_token, s.method, s.created_at, s.last_seen_at, s.expires_at,
	u.id AS "u.id", u.username AS "u.username", u.display_name AS "u.display_name", u.role AS "u.role",
	coalesce(u.county_code, '') AS "u.county_code", coalesce(u.department_code, '') AS "u.department_code",
	coalesce(u.inspector_key, '') AS "u.inspector_key", u.password_hash IS NOT NULL AS "u.has_password",
	u.oidc_subject IS NOT NULL AS "u.single_sign_on", u.failed_signins AS "u.failed_signins",
	u.locked_until AS "u.locked_until", u.disabled_at AS "u.disabled_at", u.created_at AS "u.created_at", u.created_by AS "u.created_by"`

// Lookup returns the open session of token, or an Unauthorized fault when
// there is none: unknown, signed out, idle too long, past its absolute
// timeout, or of a disabled account. The user's role and scope are read
// with it, so a change to the account applies at the next request.
func (s *Sessions) Lookup(ctx context.Context, token string) (Session, error) {
	if !sessionShape.MatchString(token) {
		return Session{}, fault.New(fault.Unauthorized, "the session token is malformed")
	}
	var sess Session
	err := s.db.GetContext(ctx, &sess, `SELECT `+sessionColumns+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.ended_at IS NULL`, tokenHash(token))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fault.New(fault.Unauthorized, "the session has ended: sign in again")
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	switch {
	case sess.User.DisabledAt != nil:
		return Session{}, fault.New(fault.Unauthorized, "the account %s is disabled", sess.User.Username)
	case !now.Before(sess.ExpiresAt):
		return Session{}, fault.New(fault.Unauthorized, "the session has ended after %s: sign in again", hours(s.policy.Absolute))
	case now.Sub(sess.LastSeenAt) >= s.policy.Idle:
		return Session{}, fault.New(fault.Unauthorized, "the session has ended after %s without activity: sign in again", hours(s.policy.Idle))
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, sess.ID, now); err != nil {
			return Session{}, fmt.Errorf("touch session %d: %w", sess.ID, err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// End closes the session of token (signing out) and records it; a token
// without an open session is no error, so signing out twice is harmless.
func (s *Sessions) End(ctx context.Context, token string) error {
	if !sessionShape.MatchString(token) {
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var row struct {
		ID       int64  `db:"id"`
		Username string `db:"username"`
		Role     Role   `db:"role"`
	}
	err = tx.GetContext(ctx, &row, `UPDATE sessions s SET ended_at = $2 FROM users u
		WHERE u.id = s.user_id AND s.token_hash = $1 AND s.ended_at IS NULL RETURNING s.id, u.username, u.role`, tokenHash(token), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	actor := Principal{Subject: "user-" + row.Username, Role: row.Role}.Actor()
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "user.signout", Entity: "user", EntityID: row.Username,
		Payload: map[string]any{"session": row.ID}}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return strconv.Itoa(int(d/time.Minute)) + " min"
}

func randomToken(prefix string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// chinaTime is UTC+8, where the people signing in read the time.
var chinaTime = time.FixedZone("CST", 8*3600)
