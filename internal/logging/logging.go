// Package logging builds spotcheck's zap loggers and adapts them to the
// Temporal SDK, so that workflow and activity logs land in the same stream
// with the caller of the SDK's logger, not the adapter, in the caller field.
package logging

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger at level ("debug", "info", "warn", "error") in format
// "json" (production) or "console" (development).
func New(level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "ts"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	return cfg.Build()
}

// Temporal adapts a zap logger to the Temporal SDK's log.Logger.
type Temporal struct {
	z *zap.Logger
}

var (
	_ log.Logger          = Temporal{}
	_ log.WithLogger      = Temporal{}
	_ log.WithSkipCallers = Temporal{}
)

// NewTemporal wraps z. The one extra caller skip accounts for the adapter's
// own method, so the caller field names the code that called Info or Error.
func NewTemporal(z *zap.Logger) Temporal {
	return Temporal{z: z.WithOptions(zap.AddCallerSkip(1))}
}

// Debug logs at debug level with alternating key/value pairs.
func (l Temporal) Debug(msg string, keyvals ...any) { l.z.Debug(msg, fields(keyvals)...) }

// Info logs at info level with alternating key/value pairs.
func (l Temporal) Info(msg string, keyvals ...any) { l.z.Info(msg, fields(keyvals)...) }

// Warn logs at warn level with alternating key/value pairs.
func (l Temporal) Warn(msg string, keyvals ...any) { l.z.Warn(msg, fields(keyvals)...) }

// Error logs at error level with alternating key/value pairs.
func (l Temporal) Error(msg string, keyvals ...any) { l.z.Error(msg, fields(keyvals)...) }

// With returns a logger that adds keyvals to every entry.
func (l Temporal) With(keyvals ...any) log.Logger {
	return Temporal{z: l.z.With(fields(keyvals)...)}
}

// WithCallerSkip returns a logger that skips n more stack frames; the SDK
// uses it when it wraps the logger in its own replay-aware logger.
func (l Temporal) WithCallerSkip(n int) log.Logger {
	return Temporal{z: l.z.WithOptions(zap.AddCallerSkip(n))}
}

func fields(keyvals []any) []zap.Field {
	fs := make([]zap.Field, 0, len(keyvals)/2+1)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			// An odd count is a caller's mistake; keep the value rather than drop it.
			fs = append(fs, zap.Any("!BADKEY", keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		fs = append(fs, zap.Any(key, keyvals[i+1]))
	}
	return fs
}
