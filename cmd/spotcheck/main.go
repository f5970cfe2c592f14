// Command spotcheck runs the spotcheck system: the HTTP API, the Temporal
// worker, both together on one machine with embedded PostgreSQL and Temporal
// (`dev`), and the operator tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `spotcheck: 双随机、一公开 supervision — random draw, random match, public results

Usage:
  spotcheck dev                 the whole system on one machine (embedded PostgreSQL and Temporal)
  spotcheck api                 the HTTP API (production role)
  spotcheck worker              the Temporal worker (production role)
  spotcheck migrate up|down|status
  spotcheck token create|list|revoke   API keys (token create --role ROLE ... prints the key once)
  spotcheck user create|list    console accounts (user create --username NAME --role ROLE ... --password-stdin)
  spotcheck audit verify        check the hash chain of the audit trail
  spotcheck archive verify DIR|URL   recompute a sealed archive's manifest and draw (export --batch ID --dir DIR copies one out)
  spotcheck verify-match --proof FILE|URL   recompute a match proof (URL: --token or SPOTCHECK_TOKEN)
  spotcheck verify-draw --proof FILE|URL --population FILE|URL   recompute a published draw
  spotcheck import objects|inspectors FILE   bulk import from CSV or XLSX (--dry-run, --encoding)
  spotcheck export objects|inspectors        export as CSV or XLSX (-o FILE, --template)
  spotcheck export progress|ledger|statistics   reports in Excel (--batch, --year, -o FILE)
  spotcheck demo seed [--if-empty]   load the demo data set (Jiaxing: 20,000 objects, 150 inspectors)
  spotcheck version

Run "spotcheck COMMAND -h" for the flags of a command; every flag also has an
environment variable (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "spotcheck:", err)
		}
		os.Exit(exitCode(err))
	}
}

// stdin is where commands read secrets from (user create --password-stdin);
// tests replace it.
var stdin io.Reader = os.Stdin

// usageError marks a mistake in the command line (exit 2, as flag does).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, rest, stderr)
	case "api":
		return runRole(ctx, "api", rest, stderr, roles{api: true})
	case "worker":
		return runRole(ctx, "worker", rest, stderr, roles{worker: true})
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdin, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "archive":
		return runArchive(ctx, rest, stdout, stderr)
	case "verify-match":
		return runVerifyMatch(ctx, rest, stdout, stderr)
	case "verify-draw":
		return runVerifyDraw(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
