package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

const tokenUsage = `usage:
  spotcheck token create --role ROLE [--county CODE|NAME] [--department CODE|NAME] [--inspector KEY] [--expires 90d|720h|2026-12-31] [--name TEXT]
  spotcheck token list
  spotcheck token revoke ID
roles: admin, coordinator, department_officer (--department), county_officer (--county), inspector (--inspector), auditor`

// runToken manages API keys. Whoever can reach the database with
// DATABASE_URL can make any key; the audit trail records them as
// cli:<operating-system user>.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("spotcheck token "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs)
	var nk auth.NewKey
	var role, expires string
	if action == "create" {
		fs.StringVar(&role, "role", "", "role of the key: "+strings.Join(roleNames(), ", "))
		fs.StringVar(&nk.County, "county", "", "county (region code or name) of a county_officer key")
		fs.StringVar(&nk.Department, "department", "", "department (code or name) of a department_officer key")
		fs.StringVar(&nk.InspectorKey, "inspector", "", "inspector key of an inspector's key")
		fs.StringVar(&expires, "expires", "", "lifetime (90d, 720h) or last day (2026-12-31, China time); empty = until revoked")
		fs.StringVar(&nk.Name, "name", "", "who or what holds the key, for lists")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	switch {
	case action == "create" && len(pos) == 0, action == "list" && len(pos) == 0, action == "revoke" && len(pos) == 1:
	default:
		fmt.Fprintln(stderr, tokenUsage)
		return usageError{"usage: spotcheck token create|list|revoke (see above)"}
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database that holds the API keys"}
	}
	var revokeID int64
	if action == "revoke" {
		if revokeID, err = strconv.ParseInt(pos[0], 10, 64); err != nil || revokeID < 1 {
			return usageError{fmt.Sprintf("%q is not an API key ID: `spotcheck token list` shows them", pos[0])}
		}
	}
	if action == "create" {
		if role == "" {
			return usageError{"--role is required: one of " + strings.Join(roleNames(), ", ")}
		}
		if nk.Role, err = auth.ParseRole(role); err != nil {
			return flagFault(err)
		}
		if expires != "" {
			at, err := parseExpiry(expires, time.Now())
			if err != nil {
				return usageError{"--expires: " + err.Error()}
			}
			nk.ExpiresAt = &at
		}
	}

	db, err := openDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	switch action {
	case "create":
		k, token, err := auth.CreateKey(ctx, db, cliActor(), nk)
		if err != nil {
			return flagFault(err)
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stderr, "Created API key %d: %s (%s)%s, %s.\n", k.ID, k.Role, k.Role.Chinese(), scopeText(k), expiryText(k))
		fmt.Fprintf(stderr, "The token above is shown only this once: hand it over through a secret store. `spotcheck token revoke %d` ends it.\n", k.ID)
		return nil
	case "list":
		keys, err := auth.ListKeys(ctx, db)
		if err != nil {
			return err
		}
		return writeKeys(stdout, keys, time.Now())
	default:
		k, err := auth.RevokeKey(ctx, db, cliActor(), revokeID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked API key %d (%s…, %s%s).\n", k.ID, k.Prefix, k.Role, scopeText(k))
		return nil
	}
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// flagFault turns a refused field of a new key into a command-line
// mistake naming the flag.
func flagFault(err error) error {
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid || len(e.Problems) == 0 {
		return err
	}
	var msgs []string
	for _, p := range e.Problems {
		msgs = append(msgs, "--"+p.Field+": "+p.Message)
	}
	return usageError{strings.Join(msgs, "; ")}
}

// chinaTime is UTC+8, without depending on the time zone database.
var chinaTime = time.FixedZone("CST", 8*3600)

// parseExpiry reads 90d, a Go duration such as 720h, or a last valid day.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 3650 {
			return time.Time{}, fmt.Errorf("%q is not a number of days from 1 to 3650", s)
		}
		return now.AddDate(0, 0, days), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a positive duration", s)
		}
		return now.Add(d), nil
	}
	day, err := time.ParseInLocation("2006-01-02", s, chinaTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither days (90d), a duration (720h) nor a date (2026-12-31)", s)
	}
	return day.AddDate(0, 0, 1), nil // valid through that day
}

func roleNames() []string {
	s := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		s[i] = string(r)
	}
	return s
}

func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + name
}

func scopeText(k auth.Key) string { return scopeOf(k.County, k.Department, k.InspectorKey) }

// scopeOf names the scope of a key or an account, as ", county 330402", or
// "" for the city's roles.
func scopeOf(county, department, inspector string) string {
	switch {
	case county != "":
		return ", county " + county
	case department != "":
		return ", department " + department
	case inspector != "":
		return ", inspector " + inspector
	}
	return ""
}

func expiryText(k auth.Key) string {
	if k.ExpiresAt == nil {
		return "valid until revoked"
	}
	return "valid until " + k.ExpiresAt.In(chinaTime).Format("2006-01-02 15:04 MST")
}

func writeKeys(w io.Writer, keys []auth.Key, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tROLE\tSCOPE\tSTATUS\tEXPIRES\tCREATED\tBY\tNAME")
	for _, k := range keys {
		scope := strings.TrimPrefix(scopeText(k), ", ")
		if scope == "" {
			scope = "-"
		}
		exp := "-"
		if k.ExpiresAt != nil {
			exp = k.ExpiresAt.In(chinaTime).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Role, scope, k.Status(now), exp,
			k.CreatedAt.In(chinaTime).Format("2006-01-02 15:04"), k.CreatedBy, k.Name)
	}
	return tw.Flush()
}

// newAuthenticator builds the API's authenticator from the settings: API
// keys always, single sign-on when a key set is configured. A key set file
// that cannot be read stops start-up; a key set URL that does not answer
// yet is retried on the first token (API keys work meanwhile).
func newAuthenticator(ctx context.Context, cfg *config.Config, db *sqlx.DB, log *zap.Logger) (*auth.Authenticator, error) {
	if cfg.JWKSURL == "" && cfg.JWKSFile == "" {
		return auth.NewAuthenticator(db, nil), nil
	}
	roles, err := auth.ParseRoleMap(cfg.JWTRoleMap)
	if err != nil {
		return nil, fmt.Errorf("JWT_ROLE_MAP: %w", err)
	}
	v, err := auth.NewJWTVerifier(auth.JWTConfig{
		JWKSURL: cfg.JWKSURL, JWKSFile: cfg.JWKSFile, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, RoleMap: roles,
		Claims: auth.ClaimNames{Subject: cfg.JWTSubjectClaim, Role: cfg.JWTRoleClaim, County: cfg.JWTCountyClaim,
			Department: cfg.JWTDepartmentClaim, Inspector: cfg.JWTInspectorClaim},
	})
	if err != nil {
		return nil, err
	}
	if err := v.Refresh(ctx); err != nil {
		if cfg.JWKSFile != "" {
			return nil, err
		}
		log.Warn("single sign-on keys not loaded yet; retrying on the first token", zap.Error(err))
	}
	return auth.NewAuthenticator(db, v), nil
}
