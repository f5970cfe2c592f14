package config

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// Row renders a setting as its README table row.
func row(s Setting) string {
	def := "`" + s.Default + "`"
	if s.Default == "" {
		def = "*(empty)*"
	}
	return "| `" + s.Env + "` | `--" + s.Flag + "` | " + def + " | " + s.Usage + " |"
}

func TestReadmeTableMatchesSettings(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "<!-- config-table")
	end := strings.Index(readme, "<!-- /config-table -->")
	if start < 0 || end < start {
		t.Fatal("README has no config-table markers")
	}
	var want []string
	for _, s := range Settings {
		want = append(want, row(s))
	}
	var got []string
	for _, l := range strings.Split(readme[start:end], "\n") {
		if strings.HasPrefix(l, "| `") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README configuration table is out of date; it should read:\n%s", strings.Join(want, "\n"))
	}
}

func TestEnvironmentThenFlags(t *testing.T) {
	t.Setenv("HTTP_ADDR", "127.0.0.1:9999")
	t.Setenv("SHUTDOWN_TIMEOUT", "7s")
	t.Setenv("TEMPORAL_UI_PORT", "9233")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c := Register(fs)
	if err := fs.Parse([]string{"--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9999" || c.ShutdownTimeout != 7*time.Second || c.TemporalUIPort != 9233 {
		t.Errorf("environment not applied: %+v", c)
	}
	if c.LogLevel != "debug" || c.TaskQueue != "spotcheck" || c.TemporalDevPort != 7233 {
		t.Errorf("flags or defaults not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.LogLevel = "loud" }, "LOG_LEVEL"},
		{func(c *Config) { c.LogFormat = "xml" }, "LOG_FORMAT"},
		{func(c *Config) { c.TemporalDevPort = 70000 }, "TEMPORAL_DEV_PORT"},
		{func(c *Config) { c.ShutdownTimeout = 0 }, "SHUTDOWN_TIMEOUT"},
		{func(c *Config) { c.DBMaxOpenConns = 0 }, "DB_MAX_OPEN_CONNS"},
	} {
		c := Register(flag.NewFlagSet("t", flag.ContinueOnError))
		tc.mut(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to name %s", err, tc.want)
		}
	}
}

func TestValidateNotificationSettings(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.SMTPTLS = "always" }, "SMTP_TLS"},
		{func(c *Config) { c.SMTPAddr = "mail.example.gov.cn" }, "SMTP_ADDR"},
		{func(c *Config) { c.SMTPAddr = "mail.example.gov.cn:25"; c.SMTPFrom = "spotcheck" }, "SMTP_FROM"},
		{func(c *Config) { c.SMTPUsername = "spotcheck" }, "SMTP_PASSWORD"},
		{func(c *Config) { c.WebhookSecret = "short" }, "WEBHOOK_SECRET"},
	} {
		c := Register(flag.NewFlagSet("t", flag.ContinueOnError))
		tc.mut(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to name %s", err, tc.want)
		}
	}
	c := Register(flag.NewFlagSet("t", flag.ContinueOnError))
	c.SMTPAddr, c.SMTPFrom = "mail.example.gov.cn:587", "嘉兴市自然资源和规划局 <spotcheck@example.gov.cn>"
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestWorkerSettings(t *testing.T) {
	t.Setenv("WORKER_ACTIVITY_CONCURRENCY", "64")
	t.Setenv("WORKER_STICKY_CACHE_SIZE", "4000")
	c := Register(flag.NewFlagSet("t", flag.ContinueOnError))
	if c.WorkerActivityConcurrency != 64 || c.WorkerStickyCacheSize != 4000 || c.WorkerWorkflowPollers != 2 || c.WorkerWorkflowConcurrency != 1000 ||
		c.WorkerLocalActivityConcurrency != 1000 {
		t.Errorf("worker settings from the environment and defaults: %+v", c)
	}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		// The SDK panics on a single workflow poller or task slot.
		{func(c *Config) { c.WorkerWorkflowPollers = 1 }, "WORKER_WORKFLOW_POLLERS must be at least 2"},
		{func(c *Config) { c.WorkerWorkflowConcurrency = 1 }, "WORKER_WORKFLOW_CONCURRENCY must be at least 2"},
		{func(c *Config) { c.WorkerActivityConcurrency = 0 }, "WORKER_ACTIVITY_CONCURRENCY"},
		{func(c *Config) { c.WorkerActivityPollers = 0 }, "WORKER_ACTIVITY_POLLERS"},
		{func(c *Config) { c.WorkerLocalActivityConcurrency = 0 }, "WORKER_LOCAL_ACTIVITY_CONCURRENCY"},
		{func(c *Config) { c.WorkerStickyCacheSize = 0 }, "WORKER_STICKY_CACHE_SIZE"},
	} {
		c := Register(flag.NewFlagSet("t", flag.ContinueOnError))
		tc.mut(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
