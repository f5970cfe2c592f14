package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/argon2"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// The argon2id parameters OWASP recommends as its first choice (Password
// Storage Cheat Sheet): 19 MiB, two passes, one lane. They are stored in
// every hash, so raising them later leaves old hashes verifiable.
const (
	argonMemoryKiB = 19 * 1024
	argonPasses    = 2
	argonLanes     = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// The minimum password rule: long enough to resist guessing (NIST SP
// 800-63B asks for 8 at least; a government console asks for more), and
// not made of the username or of one kind of character only.
const (
	MinPasswordLen = 12
	maxPasswordLen = 128
)

// Lockout: after MaxFailedSignIns wrong passwords in a row the account
// refuses every sign-in, the right password included, for LockoutPeriod.
const (
	MaxFailedSignIns = 5
	LockoutPeriod    = 15 * time.Minute
)

var validUsername = regexp.MustCompile(`^[A-Za-z0-9._@-]{2,64}$`)

// User is an account as stored: everything but the password hash.
type User struct {
	ID            int64      `db:"id" json:"id"`
	Username      string     `db:"username" json:"username"`
	DisplayName   string     `db:"display_name" json:"display_name,omitempty"`
	Role          Role       `db:"role" json:"role"`
	County        string     `db:"county_code" json:"county,omitempty"`
	Department    string     `db:"department_code" json:"department,omitempty"`
	InspectorKey  string     `db:"inspector_key" json:"inspector_key,omitempty"`
	HasPassword   bool       `db:"has_password" json:"has_password"`
	SingleSignOn  bool       `db:"single_sign_on" json:"single_sign_on"`
	FailedSignIns int        `db:"failed_signins" json:"failed_signins"`
	LockedUntil   *time.Time `db:"locked_until" json:"locked_until,omitempty"`
	DisabledAt    *time.Time `db:"disabled_at" json:"disabled_at,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	CreatedBy     string     `db:"created_by" json:"created_by"`
}

const userColumns = `id, username, display_name, role, coalesce(county_code, '') AS county_code,
	coalesce(department_code, '') AS department_code, coalesce(inspector_key, '') AS inspector_key,
	password_hash IS NOT NULL AS has_password, oidc_subject IS NOT NULL AS single_sign_on,
	failed_signins, locked_until, disabled_at, created_at, created_by`

// Principal is who a request of the user's session is: the same kind of
// principal as an API key's, so that the API decides scope in one place.
func (u User) Principal() Principal {
	return Principal{Subject: "user-" + u.Username, Role: u.Role, County: u.County, Department: u.Department, InspectorKey: u.InspectorKey}
}

// Locked reports whether the account refuses sign-ins at now.
func (u User) Locked(now time.Time) bool { return u.LockedUntil != nil && now.Before(*u.LockedUntil) }

// NewUser describes an account to create. County and Department accept a
// code or a name; exactly the scope of Role must be set.
type NewUser struct {
	Username     string
	DisplayName  string
	Role         Role
	County       string
	Department   string
	InspectorKey string
	Password     string
}

// CheckPassword applies the minimum password rule.
func CheckPassword(username, password string) error {
	n := len([]rune(password))
	switch {
	case n < MinPasswordLen:
		return fault.Field("password", "must be at least %d characters long", MinPasswordLen)
	case n > maxPasswordLen:
		return fault.Field("password", "must be at most %d characters long", maxPasswordLen)
	case username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return fault.Field("password", "must not contain the username")
	}
	kinds := 0
	// Han characters are letters of neither case: a kind of their own.
	caseless := func(r rune) bool { return unicode.IsLetter(r) && !unicode.IsLower(r) && !unicode.IsUpper(r) }
	symbol := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	for _, is := range []func(rune) bool{unicode.IsLower, unicode.IsUpper, unicode.IsDigit, caseless, symbol} {
		if strings.ContainsFunc(password, is) {
			kinds++
		}
	}
	if kinds < 2 {
		return fault.Field("password", "must mix at least two kinds of characters: lower case, upper case, digits, Chinese characters, symbols")
	}
	return nil
}

// CreateUser stores a new account with its password hashed and records it
// in the audit trail (never the password or its hash).
func CreateUser(ctx context.Context, db *sqlx.DB, actor string, nu NewUser) (User, error) {
	nu.Username = strings.TrimSpace(nu.Username)
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	if !validUsername.MatchString(nu.Username) {
		return User{}, fault.Field("username", "%q is not a username: 2 to 64 letters, digits, '.', '_', '@' or '-'", nu.Username)
	}
	if len([]rune(nu.DisplayName)) > 100 || strings.ContainsFunc(nu.DisplayName, isControl) {
		return User{}, fault.Field("display_name", "must be at most 100 characters on one line")
	}
	if err := CheckPassword(nu.Username, nu.Password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(nu.Password)
	if err != nil {
		return User{}, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	nk := NewKey{Role: nu.Role, County: nu.County, Department: nu.Department, InspectorKey: nu.InspectorKey}
	if err := resolveKeyScope(ctx, tx, &nk); err != nil {
		return User{}, err
	}
	var u User
	err = tx.GetContext(ctx, &u, `INSERT INTO users (username, display_name, password_hash, role, county_code, department_code, inspector_key, created_by)
		VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), nullif($7, ''), $8)
		ON CONFLICT (username) DO NOTHING RETURNING `+userColumns,
		nu.Username, nu.DisplayName, hash, nk.Role, nk.County, nk.Department, nk.InspectorKey, actor)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fault.New(fault.Conflict, "there is already a user %s", nu.Username)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", nu.Username, err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "user.create", Entity: "user",
		EntityID: u.Username, Payload: userPayload(u)}); err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", nu.Username, err)
	}
	return u, nil
}

func userPayload(u User) map[string]any {
	p := map[string]any{"username": u.Username, "role": u.Role}
	for f, v := range map[string]string{"display_name": u.DisplayName, "county": u.County, "department": u.Department, "inspector_key": u.InspectorKey} {
		if v != "" {
			p[f] = v
		}
	}
	return p
}

// ListUsers returns every account, by username.
func ListUsers(ctx context.Context, q sqlx.QueryerContext) ([]User, error) {
	users := []User{}
	if err := sqlx.SelectContext(ctx, q, &users, `SELECT `+userColumns+` FROM users ORDER BY username`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// HashPassword returns the PHC string of argon2id over password with a
// fresh salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonPasses, argonMemoryKiB, argonLanes, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonPasses, argonLanes,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string hash,
// with the parameters the hash names.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errors.New("verify password: not an argon2id hash of this version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8 || t < 1 || p < 1 || m > 1<<22 {
		return false, fmt.Errorf("verify password: parameters %q", parts[3])
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errors.New("verify password: salt or key is not base64")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the username is unknown, so that the
// time a refusal takes does not tell whether an account exists.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("no account has this password")
	if err != nil {
		panic(err)
	}
	return h
})
