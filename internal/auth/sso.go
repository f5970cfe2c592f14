package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// SignInSSO opens a session for the person an identity provider vouched
// for (the console's OpenID Connect sign-in): p from PrincipalOf on the ID
// token's claims. The account is found by issuer and subject, made on the
// first sign-in, and its role and scope follow the provider's at every
// sign-in, since the provider is where they are managed. A disabled
// account stays refused.
func (s *Sessions) SignInSSO(ctx context.Context, issuer string, p Principal, displayName string, cl Client) (Session, string, error) {
	now := s.now()
	nk := NewKey{Role: p.Role, County: p.County, Department: p.Department, InspectorKey: p.InspectorKey}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Session{}, "", fmt.Errorf("single sign-on: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := resolveKeyScope(ctx, tx, &nk); err != nil {
		if e, ok := fault.As(err); ok && e.Kind == fault.Invalid && len(e.Problems) == 1 {
			return Session{}, "", fault.New(fault.Forbidden, "the token's %s: %s", e.Problems[0].Field, e.Problems[0].Message)
		}
		return Session{}, "", err
	}
	displayName = strings.TrimSpace(displayName)
	if len([]rune(displayName)) > 100 || strings.ContainsFunc(displayName, isControl) {
		displayName = ""
	}
	// A username of letters and digits whatever the provider's subject.
	sum := sha256.Sum256([]byte(issuer + "\x00" + p.Subject))
	username := "sso-" + hex.EncodeToString(sum[:8])
	actor := "sso:" + issuer
	var u User
	err = tx.GetContext(ctx, &u, `UPDATE users SET role = $3, county_code = nullif($4, ''), department_code = nullif($5, ''),
		inspector_key = nullif($6, ''), display_name = CASE WHEN $7 = '' THEN display_name ELSE $7 END
		WHERE oidc_issuer = $1 AND oidc_subject = $2 RETURNING `+userColumns,
		issuer, p.Subject, nk.Role, nk.County, nk.Department, nk.InspectorKey, displayName)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &u, `INSERT INTO users (username, display_name, oidc_issuer, oidc_subject, role, county_code, department_code, inspector_key, created_by)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), nullif($8, ''), $9) RETURNING `+userColumns,
			username, displayName, issuer, p.Subject, nk.Role, nk.County, nk.Department, nk.InspectorKey, actor)
		if err == nil {
			payload := userPayload(u)
			payload["issuer"], payload["subject"] = issuer, p.Subject
			_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: "user.create", Entity: "user", EntityID: u.Username, Payload: payload})
		}
	}
	if err != nil {
		return Session{}, "", fmt.Errorf("single sign-on of %s at %s: %w", p.Subject, issuer, err)
	}
	if u.DisabledAt != nil {
		return Session{}, "", s.refuse(ctx, tx, u.Username, "disabled", cl, fault.New(fault.Unauthorized, "the account %s is disabled", u.Username))
	}
	sess, token, err := s.open(ctx, tx, u, "oidc", cl, now)
	if err != nil {
		return Session{}, "", err
	}
	if err := tx.Commit(); err != nil {
		return Session{}, "", fmt.Errorf("single sign-on: %w", err)
	}
	return sess, token, nil
}
