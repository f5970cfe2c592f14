package main

import (
	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// newWorker creates the worker and registers every workflow and activity.
func newWorker(tc client.Client, cfg *config.Config, db *sqlx.DB, log *zap.Logger) worker.Worker {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		// Leave half the shutdown budget to the HTTP drain and the rest.
		WorkerStopTimeout: cfg.ShutdownTimeout / 2,
	})
	w.RegisterActivity(&activities.Deadlines{Calendars: workday.NewStore(db)})
	w.RegisterActivity(&activities.Notifier{Store: notify.NewStore(db), Channels: notifyChannels(cfg, log), Log: log.Named("notify")})
	return w
}

// notifyChannels builds the notification channels the settings allow: email
// only when SMTP_ADDR is set (contacts on email are otherwise refused, and
// say so in their delivery records).
func notifyChannels(cfg *config.Config, log *zap.Logger) map[string]notify.Channel {
	ch := map[string]notify.Channel{
		notify.ChannelWebhook: &notify.Webhook{Secret: cfg.WebhookSecret},
		notify.ChannelLog:     &notify.Log{Logger: log.Named("notification")},
	}
	if cfg.SMTPAddr != "" {
		ch[notify.ChannelEmail] = &notify.Email{
			Addr: cfg.SMTPAddr, From: cfg.SMTPFrom,
			Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS,
		}
	}
	return ch
}
