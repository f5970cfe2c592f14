package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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
	"github.com/spotcheck-gov/spotcheck/internal/pgtx"
)

// TokenPrefix starts every API key, so that keys are recognisable (and
// findable by secret scanners) and never mistaken for a JWT.
const TokenPrefix = "sc_"

// An API key is TokenPrefix and 32 random bytes in unpadded base64url.
var tokenShape = regexp.MustCompile(`^sc_[A-Za-z0-9_-]{43}$`)

// prefixLen is how much of a token is kept in clear, to recognise it.
const prefixLen = len(TokenPrefix) + 6

// Key is an API key as stored: everything but the token.
type Key struct {
	ID           int64      `db:"id" json:"id"`
	Name         string     `db:"name" json:"name"`
	Prefix       string     `db:"prefix" json:"prefix"`
	Role         Role       `db:"role" json:"role"`
	County       string     `db:"county_code" json:"county,omitempty"`
	Department   string     `db:"department_code" json:"department,omitempty"`
	InspectorKey string     `db:"inspector_key" json:"inspector_key,omitempty"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	CreatedBy    string     `db:"created_by" json:"created_by"`
	ExpiresAt    *time.Time `db:"expires_at" json:"expires_at,omitempty"`
	RevokedAt    *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
	RevokedBy    string     `db:"revoked_by" json:"revoked_by,omitempty"`
}

const keyColumns = `id, name, prefix, role, coalesce(county_code, '') AS county_code,
	coalesce(department_code, '') AS department_code, coalesce(inspector_key, '') AS inspector_key,
	created_at, created_by, expires_at, revoked_at, coalesce(revoked_by, '') AS revoked_by`

// Status is active, expired or revoked at now.
func (k Key) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Principal is who a request made with the key is.
func (k Key) Principal() Principal {
	return Principal{Subject: "key-" + strconv.FormatInt(k.ID, 10), Role: k.Role,
		County: k.County, Department: k.Department, InspectorKey: k.InspectorKey}
}

// NewKey describes a key to create. County and Department accept a code
// or a name; exactly the scope of Role must be set.
type NewKey struct {
	Name         string
	Role         Role
	County       string
	Department   string
	InspectorKey string
	// ExpiresAt nil: the key lives until revoked.
	ExpiresAt *time.Time
}

// CreateKey stores a new API key and records it in the audit trail; the
// token it returns is shown to its holder once and never again.
func CreateKey(ctx context.Context, db *sqlx.DB, actor string, nk NewKey) (Key, string, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := resolveKeyScope(ctx, tx, &nk); err != nil {
		return Key{}, "", err
	}
	token, err := newToken()
	if err != nil {
		return Key{}, "", err
	}
	var k Key
	err = tx.GetContext(ctx, &k, `INSERT INTO api_keys (name, token_hash, prefix, role, county_code, department_code, inspector_key, created_by, expires_at)
		VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), nullif($7, ''), $8, $9) RETURNING `+keyColumns,
		nk.Name, tokenHash(token), token[:prefixLen], nk.Role, nk.County, nk.Department, nk.InspectorKey, actor, nk.ExpiresAt)
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "token.create", Entity: "api_key",
		EntityID: strconv.FormatInt(k.ID, 10), Payload: keyPayload(k)}); err != nil {
		return Key{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, token, nil
}

// keyPayload is what the audit trail keeps of a key: never the token or
// its hash.
func keyPayload(k Key) map[string]any {
	p := map[string]any{"name": k.Name, "prefix": k.Prefix, "role": k.Role}
	for f, v := range map[string]string{"county": k.County, "department": k.Department, "inspector_key": k.InspectorKey} {
		if v != "" {
			p[f] = v
		}
	}
	if k.ExpiresAt != nil {
		p["expires_at"] = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return p
}

// resolveKeyScope checks nk and replaces names of counties and
// departments by their codes.
func resolveKeyScope(ctx context.Context, q sqlx.QueryerContext, nk *NewKey) error {
	nk.Name = strings.TrimSpace(nk.Name)
	if len([]rune(nk.Name)) > 200 || strings.ContainsFunc(nk.Name, isControl) {
		return fault.Field("name", "must be at most 200 characters on one line")
	}
	if nk.ExpiresAt != nil && !nk.ExpiresAt.After(time.Now()) {
		return fault.Field("expires", "%s is not in the future", nk.ExpiresAt.Format(time.RFC3339))
	}
	p := Principal{Subject: "new", Role: nk.Role, County: nk.County, Department: nk.Department, InspectorKey: nk.InspectorKey}
	if err := p.Validate(); err != nil {
		return err
	}
	var err error
	switch nk.Role {
	case CountyOfficer:
		nk.County, err = lookupCounty(ctx, q, nk.County)
	case DepartmentOfficer:
		nk.Department, err = lookupDepartment(ctx, q, nk.Department)
	case Inspector:
		nk.InspectorKey, err = lookupInspector(ctx, q, nk.InspectorKey)
	}
	return err
}

// lookupCounty returns the code of the county-level region named by its
// code or name. The root region (the city) is not a county.
func lookupCounty(ctx context.Context, q sqlx.QueryerContext, s string) (string, error) {
	var r struct {
		Code string `db:"code"`
		Name string `db:"name"`
		Root bool   `db:"root"`
	}
	err := sqlx.GetContext(ctx, q, &r, `SELECT code, name, parent_code IS NULL AS root FROM regions
		WHERE code = $1 OR name = $1 ORDER BY code = $1 DESC LIMIT 1`, strings.TrimSpace(s))
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.Field("county", "%q is neither the code nor the name of a region", s)
	}
	if err != nil {
		return "", fmt.Errorf("look up county %q: %w", s, err)
	}
	if r.Root {
		return "", fault.Field("county", "%s %s is the city, not a county: a city-wide key has role coordinator", r.Code, r.Name)
	}
	return r.Code, nil
}

func lookupDepartment(ctx context.Context, q sqlx.QueryerContext, s string) (string, error) {
	var code string
	err := sqlx.GetContext(ctx, q, &code, `SELECT code FROM departments WHERE code = $1 OR name = $1
		ORDER BY code = $1 DESC LIMIT 1`, strings.TrimSpace(s))
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.Field("department", "%q is neither the code nor the name of a department", s)
	}
	if err != nil {
		return "", fmt.Errorf("look up department %q: %w", s, err)
	}
	return code, nil
}

func lookupInspector(ctx context.Context, q sqlx.QueryerContext, s string) (string, error) {
	var key string
	err := sqlx.GetContext(ctx, q, &key, `SELECT key FROM inspectors WHERE key = $1`, strings.TrimSpace(s))
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.Field("inspector", "%q is not the key of an inspector in the inspector directory", s)
	}
	if err != nil {
		return "", fmt.Errorf("look up inspector %q: %w", s, err)
	}
	return key, nil
}

// RevokeKey ends key id now and records it in the audit trail.
func RevokeKey(ctx context.Context, db *sqlx.DB, actor string, id int64) (Key, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var k Key
	err = tx.GetContext(ctx, &k, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, fault.New(fault.NotFound, "there is no API key %d", id)
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	if k.RevokedAt != nil {
		return Key{}, fault.New(fault.Conflict, "API key %d was already revoked at %s by %s", id, k.RevokedAt.Format(time.RFC3339), k.RevokedBy)
	}
	if err := tx.GetContext(ctx, &k, `UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING `+keyColumns, id, actor); err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	if _, err := audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "token.revoke", Entity: "api_key",
		EntityID: strconv.FormatInt(id, 10), Payload: keyPayload(k)}); err != nil {
		return Key{}, err
	}
	if err := tx.Commit(); err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	return k, nil
}

// ListKeys returns every API key, newest first.
func ListKeys(ctx context.Context, q sqlx.QueryerContext) ([]Key, error) {
	keys := []Key{}
	if err := sqlx.SelectContext(ctx, q, &keys, `SELECT `+keyColumns+` FROM api_keys ORDER BY id DESC`); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make API key: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// tokenHash is what is stored of a token: SHA-256 of its text. Tokens are
// 256 random bits, so a fast hash suffices; lookup is by hash, so there is
// no comparison whose timing could leak.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// keyQuery finds an API key by its token's hash.
const keyQuery = `SELECT ` + keyColumns + ` FROM api_keys WHERE token_hash = $1`

// keyPrincipal authenticates an API key; stmts prepares its lookup once,
// as every request with an API key makes it.
func keyPrincipal(ctx context.Context, stmts *pgtx.Statements, token string, now time.Time) (Principal, error) {
	if !tokenShape.MatchString(token) {
		return Principal{}, fault.New(fault.Unauthorized, "the API key is malformed: it should be sc_ followed by 43 characters")
	}
	stmt, err := stmts.Prepared(ctx, keyQuery)
	if err != nil {
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	var k Key
	err = stmt.GetContext(ctx, &k, tokenHash(token))
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fault.New(fault.Unauthorized, "the API key is not known to this server")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	switch k.Status(now) {
	case "revoked":
		return Principal{}, fault.New(fault.Unauthorized, "API key %d (%s…) was revoked at %s", k.ID, k.Prefix, k.RevokedAt.UTC().Format(time.RFC3339))
	case "expired":
		return Principal{}, fault.New(fault.Unauthorized, "API key %d (%s…) expired at %s", k.ID, k.Prefix, k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return k.Principal(), nil
}
