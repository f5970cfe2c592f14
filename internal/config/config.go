// Package config reads spotcheck's settings from environment variables and
// command-line flags. Every setting has an environment variable; a flag of the
// same meaning overrides it, so production units can use the environment and
// operators can experiment with flags.
package config

import (
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of the spotcheck binary. The zero value is not
// useful: call Register and parse the flag set.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	HTTPAddr          string
	LogLevel          string
	LogFormat         string
	DataDir           string
	TemporalCLI       string
	TemporalDevPort   int
	TemporalUIPort    int
	ShutdownTimeout   time.Duration
	DBMaxOpenConns    int
	SMTPAddr          string
	SMTPFrom          string
	SMTPUsername      string
	SMTPPassword      string
	SMTPTLS           string
	WebhookSecret     string
	// Chat robots and digests: see internal/notify and internal/digest.
	DingTalkBaseURL, WeComBaseURL, DigestTime, CountyPageURL string
	DemoData                                                 bool
	badDemoData                                              string // DEMO_DATA as set, when it is not a boolean
	// Single sign-on (JWT): see internal/auth.JWTConfig.
	JWKSURL, JWKSFile, JWTIssuer, JWTAudience                                                        string
	JWTSubjectClaim, JWTRoleClaim, JWTCountyClaim, JWTDepartmentClaim, JWTInspectorClaim, JWTRoleMap string
	// The console's single sign-on (OpenID Connect, code flow with PKCE):
	// see web.OIDCConfig; its claims map as the JWT_* settings say.
	OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCRedirectURL string
	// CORSOrigins lists the origins browsers may call the API from
	// (comma-separated); empty = no CORS headers at all.
	CORSOrigins string
	// PublicRateLimit is how many requests a second one client IP may make
	// to the public disclosure endpoints; 0 = unlimited.
	PublicRateLimit int
	// APIRateLimit is how many requests a second one principal may make
	// to /api/v1; 0 = unlimited.
	APIRateLimit int
	// ProgressCacheMS is how many milliseconds a batch's progress may be
	// served from memory; 0 reads the counters on every request.
	ProgressCacheMS int
	// Worker settings: see worker.Options of the Temporal SDK.
	WorkerActivityConcurrency, WorkerWorkflowConcurrency int
	WorkerActivityPollers, WorkerWorkflowPollers         int
	WorkerStickyCacheSize                                int
	// WorkerLocalActivityConcurrency bounds the local activities (an
	// object's short writes) one worker runs at once.
	WorkerLocalActivityConcurrency int
	// WorkerBulkConcurrency bounds the activities of the bulk task queue
	// (lifecycle.BulkTaskQueue) one worker runs at once.
	WorkerBulkConcurrency int
	WorkerHTTPAddr        string
}

// Setting describes one configuration variable; the README's table is
// checked against this list by a test so the two cannot drift apart.
type Setting struct {
	Env, Flag, Default, Usage string
}

// Settings lists every setting in the order the README documents them.
var Settings = []Setting{
	{"DATABASE_URL", "database-url", "", "PostgreSQL URL; empty in `dev` = embedded cluster under DATA_DIR/postgres"},
	{"TEMPORAL_ADDRESS", "temporal-address", "", "Temporal frontend host:port; empty in `dev` = embedded dev server"},
	{"TEMPORAL_NAMESPACE", "temporal-namespace", "default", "Temporal namespace"},
	{"TEMPORAL_TASK_QUEUE", "task-queue", "spotcheck", "Temporal task queue of the worker"},
	{"HTTP_ADDR", "http-addr", ":8080", "address the HTTP API listens on"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "log-format", "json", "json or console (`dev` defaults to console)"},
	{"DATA_DIR", "data-dir", ".data", "where `dev` keeps its PostgreSQL cluster and Temporal database"},
	{"TEMPORAL_CLI", "temporal-cli", "bin/temporal", "Temporal CLI binary that `dev` runs as its dev server"},
	{"TEMPORAL_DEV_PORT", "temporal-dev-port", "7233", "frontend port of the embedded Temporal dev server"},
	{"TEMPORAL_UI_PORT", "temporal-ui-port", "8233", "Web UI port of the embedded Temporal dev server"},
	{"DEMO_DATA", "demo-data", "true", "`dev` loads the demo data set (Jiaxing: 20,000 objects, 150 inspectors) when the object directory is empty; false = start empty"},
	{"SHUTDOWN_TIMEOUT", "shutdown-timeout", "20s", "longest a graceful shutdown may take"},
	{"DB_MAX_OPEN_CONNS", "db-max-open-conns", "20", "largest number of open database connections"},
	{"SMTP_ADDR", "smtp-addr", "", "SMTP server host:port for email notifications; empty = no email channel"},
	{"SMTP_FROM", "smtp-from", "", "sender of email notifications: an address, or a display name and the address in angle brackets"},
	{"SMTP_USERNAME", "smtp-username", "", "SMTP AUTH PLAIN user; empty = no authentication"},
	{"SMTP_PASSWORD", "smtp-password", "", "SMTP AUTH PLAIN password (a secret: set it in the environment)"},
	{"SMTP_TLS", "smtp-tls", "auto", "auto (STARTTLS when offered), starttls (required) or none"},
	{"WEBHOOK_SECRET", "webhook-secret", "", "HMAC-SHA256 key signing webhooks of contacts without their own (a secret: set it in the environment)"},
	{"DINGTALK_BASE_URL", "dingtalk-base-url", "https://oapi.dingtalk.com/robot/send", "endpoint of DingTalk custom robots; a 浙政钉 deployment sets its own host here"},
	{"WECOM_BASE_URL", "wecom-base-url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "endpoint of WeChat Work group robots"},
	{"DIGEST_TIME", "digest-time", "09:00", "time of day (Asia/Shanghai) the daily digest of reminders goes to digest contacts, on working days"},
	{"COUNTY_PAGE_URL", "county-page-url", "", "link to a county's page in digests, `{county}` standing for the county code, e.g. `https://spotcheck.example.gov.cn/counties/{county}`; empty = no link"},
	{"JWKS_URL", "jwks-url", "", "URL of the JSON Web Key Set of the single sign-on provider (e.g. 浙政钉); empty with JWKS_FILE empty = API keys only"},
	{"JWKS_FILE", "jwks-file", "", "file holding that key set, instead of JWKS_URL"},
	{"JWT_ISSUER", "jwt-issuer", "", "`iss` that single sign-on tokens must carry (required with a key set)"},
	{"JWT_AUDIENCE", "jwt-audience", "", "`aud` that single sign-on tokens must include (required with a key set)"},
	{"JWT_SUBJECT_CLAIM", "jwt-subject-claim", "sub", "claim holding the user ID (a dotted path reaches into nested claims)"},
	{"JWT_ROLE_CLAIM", "jwt-role-claim", "role", "claim holding the role: a string or an array, e.g. `realm_access.roles`"},
	{"JWT_COUNTY_CLAIM", "jwt-county-claim", "county", "claim holding a county officer's county (code or name)"},
	{"JWT_DEPARTMENT_CLAIM", "jwt-department-claim", "department", "claim holding a department officer's department (code or name)"},
	{"JWT_INSPECTOR_CLAIM", "jwt-inspector-claim", "inspector", "claim holding an inspector's inspector key"},
	{"JWT_ROLE_MAP", "jwt-role-map", "", "provider role values to roles, `value=role,value=role`; empty = the values are role names (admin, coordinator, department_officer, county_officer, inspector, auditor)"},
	{"OIDC_ISSUER", "oidc-issuer", "", "OpenID Connect provider (issuer URL) of the console's single sign-on, e.g. 浙政钉's; empty = console sign-in by password only"},
	{"OIDC_CLIENT_ID", "oidc-client-id", "", "the console's client ID at that provider"},
	{"OIDC_CLIENT_SECRET", "oidc-client-secret", "", "the console's client secret there (a secret: set it in the environment; empty for a public client, PKCE is always used)"},
	{"OIDC_REDIRECT_URL", "oidc-redirect-url", "", "the console's callback as registered at the provider, `https://HOST/console/sso/callback`"},
	{"CORS_ORIGINS", "cors-origins", "", "origins allowed to call the API from a browser, comma-separated (`https://a.example,https://b.example`); empty = CORS off"},
	{"PUBLIC_RATE_LIMIT", "public-rate-limit", "20", "requests per second one client IP may make to the public disclosure endpoints (/public) and the portal's pages together, bursts of three times that; 0 = unlimited"},
	{"API_RATE_LIMIT", "api-rate-limit", "50", "requests per second one principal (token or signed-in user) may make to /api/v1, bursts of three times that; over it 429 with Retry-After; 0 = unlimited"},
	{"PROGRESS_CACHE_MS", "progress-cache-ms", "1000", "milliseconds a batch's progress may be served from the API's memory to pollers; 0 = read the counters every time"},
	{"WORKER_ACTIVITY_CONCURRENCY", "worker-activity-concurrency", "1000", "activities one worker runs at once"},
	{"WORKER_WORKFLOW_CONCURRENCY", "worker-workflow-concurrency", "1000", "workflow tasks one worker runs at once (at least 2)"},
	{"WORKER_LOCAL_ACTIVITY_CONCURRENCY", "worker-local-activity-concurrency", "1000", "local activities (an object's task row, entries and deadline plans, written in the workflow task) one worker runs at once"},
	{"WORKER_ACTIVITY_POLLERS", "worker-activity-pollers", "2", "concurrent polls of one worker for activity tasks"},
	{"WORKER_WORKFLOW_POLLERS", "worker-workflow-pollers", "2", "concurrent polls of one worker for workflow tasks (at least 2)"},
	{"WORKER_STICKY_CACHE_SIZE", "worker-sticky-cache-size", "10000", "workflows a worker keeps in memory between their tasks (sticky cache)"},
	{"WORKER_BULK_CONCURRENCY", "worker-bulk-concurrency", "4", "bulk activities (a page of tasks assigned or lapsed, a county's recount, a batch's summary and archive) one worker runs at once, on the task queue `TEMPORAL_TASK_QUEUE`-bulk, apart from the activities people wait for"},
	{"WORKER_HTTP_ADDR", "worker-http-addr", "", "address `spotcheck worker` serves /healthz, /readyz and /metrics on, e.g. `:9090`; empty = none"},
}

// Register defines every setting on fs, with defaults taken from the
// environment when set there. The returned Config is filled by fs.Parse.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{}
	str := func(p *string, name string) {
		s := lookup(name)
		fs.StringVar(p, s.Flag, envOr(s), s.Usage+" (env "+s.Env+")")
	}
	num := func(p *int, name string) {
		s := lookup(name)
		fs.Func(s.Flag, s.Usage+" (env "+s.Env+", default "+s.Default+")", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s must be a whole number, got %q", s.Flag, v)
			}
			*p = n
			return nil
		})
		*p, _ = strconv.Atoi(s.Default)
		if v, ok := os.LookupEnv(s.Env); ok {
			if n, err := strconv.Atoi(v); err == nil {
				*p = n
			}
		}
	}
	str(&c.DatabaseURL, "DATABASE_URL")
	str(&c.TemporalAddress, "TEMPORAL_ADDRESS")
	str(&c.TemporalNamespace, "TEMPORAL_NAMESPACE")
	str(&c.TaskQueue, "TEMPORAL_TASK_QUEUE")
	str(&c.HTTPAddr, "HTTP_ADDR")
	str(&c.LogLevel, "LOG_LEVEL")
	str(&c.LogFormat, "LOG_FORMAT")
	str(&c.DataDir, "DATA_DIR")
	str(&c.TemporalCLI, "TEMPORAL_CLI")
	str(&c.SMTPAddr, "SMTP_ADDR")
	str(&c.SMTPFrom, "SMTP_FROM")
	str(&c.SMTPUsername, "SMTP_USERNAME")
	str(&c.SMTPPassword, "SMTP_PASSWORD")
	str(&c.SMTPTLS, "SMTP_TLS")
	str(&c.WebhookSecret, "WEBHOOK_SECRET")
	str(&c.DingTalkBaseURL, "DINGTALK_BASE_URL")
	str(&c.WeComBaseURL, "WECOM_BASE_URL")
	str(&c.DigestTime, "DIGEST_TIME")
	str(&c.CountyPageURL, "COUNTY_PAGE_URL")
	str(&c.JWKSURL, "JWKS_URL")
	str(&c.JWKSFile, "JWKS_FILE")
	str(&c.JWTIssuer, "JWT_ISSUER")
	str(&c.JWTAudience, "JWT_AUDIENCE")
	str(&c.JWTSubjectClaim, "JWT_SUBJECT_CLAIM")
	str(&c.JWTRoleClaim, "JWT_ROLE_CLAIM")
	str(&c.JWTCountyClaim, "JWT_COUNTY_CLAIM")
	str(&c.JWTDepartmentClaim, "JWT_DEPARTMENT_CLAIM")
	str(&c.JWTInspectorClaim, "JWT_INSPECTOR_CLAIM")
	str(&c.JWTRoleMap, "JWT_ROLE_MAP")
	str(&c.OIDCIssuer, "OIDC_ISSUER")
	str(&c.OIDCClientID, "OIDC_CLIENT_ID")
	str(&c.OIDCClientSecret, "OIDC_CLIENT_SECRET")
	str(&c.OIDCRedirectURL, "OIDC_REDIRECT_URL")
	str(&c.CORSOrigins, "CORS_ORIGINS")
	num(&c.PublicRateLimit, "PUBLIC_RATE_LIMIT")
	num(&c.APIRateLimit, "API_RATE_LIMIT")
	num(&c.ProgressCacheMS, "PROGRESS_CACHE_MS")
	num(&c.TemporalDevPort, "TEMPORAL_DEV_PORT")
	num(&c.TemporalUIPort, "TEMPORAL_UI_PORT")
	num(&c.DBMaxOpenConns, "DB_MAX_OPEN_CONNS")
	num(&c.WorkerActivityConcurrency, "WORKER_ACTIVITY_CONCURRENCY")
	num(&c.WorkerWorkflowConcurrency, "WORKER_WORKFLOW_CONCURRENCY")
	num(&c.WorkerLocalActivityConcurrency, "WORKER_LOCAL_ACTIVITY_CONCURRENCY")
	num(&c.WorkerActivityPollers, "WORKER_ACTIVITY_POLLERS")
	num(&c.WorkerWorkflowPollers, "WORKER_WORKFLOW_POLLERS")
	num(&c.WorkerStickyCacheSize, "WORKER_STICKY_CACHE_SIZE")
	num(&c.WorkerBulkConcurrency, "WORKER_BULK_CONCURRENCY")
	str(&c.WorkerHTTPAddr, "WORKER_HTTP_ADDR")
	demo := lookup("DEMO_DATA")
	c.DemoData, _ = strconv.ParseBool(demo.Default)
	if v, ok := os.LookupEnv(demo.Env); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			c.DemoData = b
		} else {
			c.badDemoData = v
		}
	}
	fs.BoolFunc(demo.Flag, demo.Usage+" (env "+demo.Env+", default "+demo.Default+")", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s must be true or false, got %q", demo.Flag, v)
		}
		c.DemoData, c.badDemoData = b, ""
		return nil
	})
	s := lookup("SHUTDOWN_TIMEOUT")
	def, _ := time.ParseDuration(s.Default)
	if v, ok := os.LookupEnv(s.Env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	fs.DurationVar(&c.ShutdownTimeout, s.Flag, def, s.Usage+" (env "+s.Env+")")
	return c
}

// Validate reports the first setting that cannot work, in words an operator
// can act on.
func (c *Config) Validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("LOG_LEVEL %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("LOG_FORMAT %q is not one of json, console", c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("SHUTDOWN_TIMEOUT must be positive, got %s", c.ShutdownTimeout)
	}
	if c.DBMaxOpenConns < 1 {
		return fmt.Errorf("DB_MAX_OPEN_CONNS must be at least 1, got %d", c.DBMaxOpenConns)
	}
	if c.APIRateLimit < 0 {
		return fmt.Errorf("API_RATE_LIMIT must be 0 (unlimited) or more, got %d", c.APIRateLimit)
	}
	if c.ProgressCacheMS < 0 {
		return fmt.Errorf("PROGRESS_CACHE_MS must be 0 (off) or more, got %d", c.ProgressCacheMS)
	}
	if c.PublicRateLimit < 0 {
		return fmt.Errorf("PUBLIC_RATE_LIMIT must be 0 (unlimited) or more, got %d", c.PublicRateLimit)
	}
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" && o != "*" && !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			return fmt.Errorf("CORS_ORIGINS entry %q is not an origin such as https://example.gov.cn", o)
		}
	}
	if c.badDemoData != "" {
		return fmt.Errorf("DEMO_DATA %q is not true or false", c.badDemoData)
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if c.OIDCIssuer != "" && (c.OIDCClientID == "" || c.OIDCRedirectURL == "") {
		return fmt.Errorf("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_REDIRECT_URL")
	}
	if err := c.validateWorker(); err != nil {
		return err
	}
	if c.JWKSURL != "" && c.JWKSFile != "" {
		return fmt.Errorf("JWKS_URL and JWKS_FILE are both set: set one")
	}
	if (c.JWKSURL != "" || c.JWKSFile != "") && (c.JWTIssuer == "" || c.JWTAudience == "") {
		return fmt.Errorf("single sign-on needs JWT_ISSUER and JWT_AUDIENCE: tokens of any issuer or audience are not accepted")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"TEMPORAL_DEV_PORT", c.TemporalDevPort}, {"TEMPORAL_UI_PORT", c.TemporalUIPort}} {
		if p.v < 1 || p.v > 65535 {
			return fmt.Errorf("%s must be a port between 1 and 65535, got %d", p.name, p.v)
		}
	}
	return nil
}

// validateNotify checks the settings of the notification channels.
func (c *Config) validateNotify() error {
	switch c.SMTPTLS {
	case "auto", "starttls", "none":
	default:
		return fmt.Errorf("SMTP_TLS %q is not one of auto, starttls, none", c.SMTPTLS)
	}
	if c.SMTPAddr != "" {
		if _, port, err := net.SplitHostPort(c.SMTPAddr); err != nil || port == "" {
			return fmt.Errorf("SMTP_ADDR %q must be host:port, e.g. mail.example.gov.cn:587", c.SMTPAddr)
		}
		if a, err := mail.ParseAddress(c.SMTPFrom); err != nil || a.Address == "" {
			return fmt.Errorf("SMTP_FROM %q must be an email address (SMTP_ADDR is set)", c.SMTPFrom)
		}
	}
	if c.SMTPUsername != "" && c.SMTPPassword == "" {
		return fmt.Errorf("SMTP_PASSWORD must be set with SMTP_USERNAME")
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		return fmt.Errorf("WEBHOOK_SECRET must be at least 16 characters")
	}
	for _, u := range []struct{ name, v string }{{"DINGTALK_BASE_URL", c.DingTalkBaseURL}, {"WECOM_BASE_URL", c.WeComBaseURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%s %q must be an http(s) URL", u.name, u.v)
		}
	}
	if _, err := c.DigestClock(); err != nil {
		return err
	}
	if c.CountyPageURL != "" {
		if p, err := url.Parse(strings.ReplaceAll(c.CountyPageURL, "{county}", "330402")); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("COUNTY_PAGE_URL %q must be an http(s) URL", c.CountyPageURL)
		}
	}
	return nil
}

// validateWorker checks the worker settings; the SDK panics on one
// workflow poller or one workflow task slot (sticky and normal queues
// alternate).
func (c *Config) validateWorker() error {
	for _, w := range []struct {
		name   string
		v, min int
	}{
		{"WORKER_ACTIVITY_CONCURRENCY", c.WorkerActivityConcurrency, 1},
		{"WORKER_WORKFLOW_CONCURRENCY", c.WorkerWorkflowConcurrency, 2},
		{"WORKER_LOCAL_ACTIVITY_CONCURRENCY", c.WorkerLocalActivityConcurrency, 1},
		{"WORKER_ACTIVITY_POLLERS", c.WorkerActivityPollers, 1},
		{"WORKER_WORKFLOW_POLLERS", c.WorkerWorkflowPollers, 2},
		{"WORKER_STICKY_CACHE_SIZE", c.WorkerStickyCacheSize, 1},
		{"WORKER_BULK_CONCURRENCY", c.WorkerBulkConcurrency, 1},
	} {
		if w.v < w.min {
			return fmt.Errorf("%s must be at least %d, got %d", w.name, w.min, w.v)
		}
	}
	return nil
}

// DigestClock returns DIGEST_TIME as hour and minute after midnight.
func (c *Config) DigestClock() (time.Duration, error) {
	t, err := time.Parse("15:04", c.DigestTime)
	if err != nil {
		return 0, fmt.Errorf("DIGEST_TIME %q must be a time of day such as 09:00", c.DigestTime)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// EnvWasSet reports whether the environment sets name, so that `dev` can
// tell a deliberate LOG_FORMAT=json from the production default.
func EnvWasSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}

func lookup(env string) Setting {
	for _, s := range Settings {
		if s.Env == env {
			return s
		}
	}
	panic("config: unknown setting " + env) // programming error, caught by tests
}

func envOr(s Setting) string {
	if v, ok := os.LookupEnv(s.Env); ok {
		return v
	}
	return s.Default
}
