package main

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/matching"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// newWorker creates the worker and registers every workflow and activity.
func newWorker(tc client.Client, cfg *config.Config, db *sqlx.DB, log *zap.Logger) worker.Worker {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		// Leave half the shutdown budget to the HTTP drain and the rest.
		WorkerStopTimeout: cfg.ShutdownTimeout / 2,
	})
	for _, wf := range []any{workflows.BatchWorkflow, workflows.CountyWorkflow, workflows.PartitionWorkflow, workflows.ObjectWorkflow, workflows.PlanWorkflow} {
		w.RegisterWorkflow(wf)
	}
	calendars := workday.NewStore(db)
	batches := batch.NewService(db)
	w.RegisterActivity(&activities.Deadlines{Calendars: calendars})
	w.RegisterActivity(&activities.Tasks{DB: db, Calendars: calendars})
	matcher := matching.NewService(db)
	w.RegisterActivity(&activities.Matching{Matcher: matcher, Replacer: matcher})
	w.RegisterActivity(&activities.Batches{
		Steps: activities.BatchSteps{Service: batches, DB: db},
		Closing: &archive.Closer{DB: db, Population: func(ctx context.Context, id string, w *bytes.Buffer) error {
			return batches.WritePopulation(ctx, id, w)
		}},
	})
	policy, _ := json.Marshal(workflows.DefaultPolicy())
	w.RegisterActivity(&activities.Plans{Plans: plan.NewService(db), DefaultPolicy: policy,
		Starter: &activities.Starter{DB: db, Batches: batches, Temporal: tc, TaskQueue: cfg.TaskQueue}})
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
