package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/web"
)

const userUsage = `usage:
  spotcheck user create --username NAME --role ROLE [--county CODE|NAME] [--department CODE|NAME] [--inspector KEY] [--display-name TEXT] --password-stdin
  spotcheck user list
roles: admin, coordinator, department_officer (--department), county_officer (--county), inspector (--inspector), auditor
The password is read from the first line of standard input, never from the command line:
  printf '%s\n' "$PASSWORD" | spotcheck user create --username zhang --role coordinator --password-stdin`

// runUser manages the console's accounts. As with API keys, whoever can
// reach the database can make any account; the audit trail records them
// as cli:<operating-system user>.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("spotcheck user "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs)
	var nu auth.NewUser
	var role string
	var fromStdin bool
	if action == "create" {
		fs.StringVar(&nu.Username, "username", "", "the name to sign in with: 2 to 64 letters, digits, '.', '_', '@' or '-'")
		fs.StringVar(&nu.DisplayName, "display-name", "", "the person's name as the console shows it")
		fs.StringVar(&role, "role", "", "role of the account: "+strings.Join(roleNames(), ", "))
		fs.StringVar(&nu.County, "county", "", "county (region code or name) of a county_officer")
		fs.StringVar(&nu.Department, "department", "", "department (code or name) of a department_officer")
		fs.StringVar(&nu.InspectorKey, "inspector", "", "inspector key of an inspector")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input (required)")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if (action != "create" && action != "list") || len(pos) != 0 {
		_, _ = io.WriteString(stderr, userUsage+"\n")
		return usageError{"usage: spotcheck user create|list (see above)"}
	}
	if action == "create" {
		switch {
		case nu.Username == "":
			return usageError{"--username is required"}
		case role == "":
			return usageError{"--role is required: one of " + strings.Join(roleNames(), ", ")}
		case !fromStdin:
			return usageError{"--password-stdin is required: the password is read from standard input, never from the command line"}
		}
		if nu.Role, err = auth.ParseRole(role); err != nil {
			return flagFault(err)
		}
		if nu.Password, err = readPassword(stdin); err != nil {
			return err
		}
		if err := auth.CheckPassword(nu.Username, nu.Password); err != nil {
			return flagFault(err)
		}
	}
	dsn, err := databaseURL(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "list" {
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return err
		}
		return writeUsers(stdout, users, time.Now())
	}
	u, err := auth.CreateUser(ctx, db, cliActor(), nu)
	if err != nil {
		return flagFault(err)
	}
	fmt.Fprintf(stdout, "Created user %s (%d): %s (%s)%s. Sign in at /console/.\n", u.Username, u.ID, u.Role, u.Role.Chinese(), userScope(u))
	return nil
}

// readPassword takes the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageError{"--password-stdin: standard input has no password (give it on the first line)"}
	}
	return pw, nil
}

// databaseURL is DATABASE_URL or, when it is empty, the embedded cluster
// that `make run` (spotcheck dev) is running under DATA_DIR, so that an
// account can be made next to a running dev system without looking up its
// port.
func databaseURL(cfg *config.Config) (string, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil
	}
	pid, err := os.ReadFile(filepath.Join(cfg.DataDir, "postgres", "postmaster.pid"))
	if err != nil {
		return "", usageError{"DATABASE_URL is not set and no `spotcheck dev` database runs under " + cfg.DataDir + ": set DATABASE_URL or start `make run`"}
	}
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 4 {
		return "", fmt.Errorf("%s: no port on its fourth line", filepath.Join(cfg.DataDir, "postgres", "postmaster.pid"))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return "", fmt.Errorf("%s: port %q: %w", filepath.Join(cfg.DataDir, "postgres", "postmaster.pid"), lines[3], err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/spotcheck?sslmode=disable", port), nil
}

func userScope(u auth.User) string { return scopeOf(u.County, u.Department, u.InspectorKey) }

func writeUsers(w io.Writer, users []auth.User, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tROLE\tSCOPE\tSIGN-IN\tSTATUS\tCREATED\tBY")
	for _, u := range users {
		scope := strings.TrimPrefix(userScope(u), ", ")
		if scope == "" {
			scope = "-"
		}
		how := "password"
		if u.SingleSignOn {
			how = "single sign-on"
			if u.HasPassword {
				how = "password, single sign-on"
			}
		}
		status := "active"
		switch {
		case u.DisabledAt != nil:
			status = "disabled"
		case u.Locked(now):
			status = "locked until " + u.LockedUntil.In(chinaTime).Format("15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.DisplayName, u.Role, scope, how, status,
			u.CreatedAt.In(chinaTime).Format("2006-01-02 15:04"), u.CreatedBy)
	}
	return tw.Flush()
}

// newConsole builds the 工作台 on sessions; with single sign-on when
// OIDC_ISSUER is set.
func newConsole(ctx context.Context, cfg *config.Config, sessions *auth.Sessions, log *zap.Logger) (*web.Console, error) {
	console := web.NewConsole(sessions, log)
	if cfg.OIDCIssuer == "" {
		return console, nil
	}
	roles, err := auth.ParseRoleMap(cfg.JWTRoleMap)
	if err != nil {
		return nil, fmt.Errorf("JWT_ROLE_MAP: %w", err)
	}
	o, err := web.NewOIDC(ctx, web.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		RedirectURL: cfg.OIDCRedirectURL, RoleMap: roles,
		Claims: auth.ClaimNames{Subject: cfg.JWTSubjectClaim, Role: cfg.JWTRoleClaim, County: cfg.JWTCountyClaim,
			Department: cfg.JWTDepartmentClaim, Inspector: cfg.JWTInspectorClaim}})
	if err != nil {
		return nil, err
	}
	return console.WithOIDC(o), nil
}
