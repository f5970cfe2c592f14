package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/lifecycle"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
	"github.com/spotcheck-gov/spotcheck/workflows"
)

// workers are the process's two Temporal workers: one for the workflows
// and the activities people wait for, one for the bulk activities
// (lifecycle.BulkTaskQueue) in slots of their own.
type workers []worker.Worker

func (ws workers) Start() error {
	for i, w := range ws {
		if err := w.Start(); err != nil {
			ws[:i].Stop()
			return err
		}
	}
	return nil
}

func (ws workers) Stop() {
	for _, w := range ws {
		w.Stop()
	}
}

// newWorker creates the workers and registers every workflow and activity.
func newWorker(tc client.Client, cfg *config.Config, db *sqlx.DB, log *zap.Logger) workers {
	// The sticky cache is the process's, shared by its workers: set before
	// the worker exists.
	worker.SetStickyWorkflowCacheSize(cfg.WorkerStickyCacheSize)
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		// Leave half the shutdown budget to the HTTP drain and the rest.
		WorkerStopTimeout:                       cfg.ShutdownTimeout / 2,
		Interceptors:                            []interceptor.WorkerInterceptor{activities.PermanentErrors()},
		MaxConcurrentActivityExecutionSize:      cfg.WorkerActivityConcurrency,
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerLocalActivityConcurrency,
		MaxConcurrentWorkflowTaskExecutionSize:  cfg.WorkerWorkflowConcurrency,
		MaxConcurrentActivityTaskPollers:        cfg.WorkerActivityPollers,
		MaxConcurrentWorkflowTaskPollers:        cfg.WorkerWorkflowPollers,
	})
	for _, wf := range []any{workflows.BatchWorkflow, workflows.CountyWorkflow, workflows.PartitionWorkflow, workflows.ObjectWorkflow, workflows.PlanWorkflow, workflows.DigestWorkflow, workflows.AuditHeadWorkflow} {
		w.RegisterWorkflow(wf)
	}
	bulk := worker.New(tc, lifecycle.BulkTaskQueue(cfg.TaskQueue), worker.Options{
		WorkerStopTimeout:                  cfg.ShutdownTimeout / 2,
		Interceptors:                       []interceptor.WorkerInterceptor{activities.PermanentErrors()},
		MaxConcurrentActivityExecutionSize: cfg.WorkerBulkConcurrency,
		MaxConcurrentActivityTaskPollers:   cfg.WorkerActivityPollers,
		DisableWorkflowWorker:              true,
	})
	for _, a := range newActivities(tc, cfg, db, log) {
		w.RegisterActivity(a)
		bulk.RegisterActivity(a)
	}
	return workers{w, bulk}
}

// newActivities builds every activity once: either worker runs any of
// them, the workflows choose the queue.
func newActivities(tc client.Client, cfg *config.Config, db *sqlx.DB, log *zap.Logger) []any {
	var acts []any
	calendars := workday.NewStore(db)
	batches := batch.NewService(db)
	acts = append(acts, &activities.Deadlines{Calendars: calendars})
	acts = append(acts, &activities.Tasks{Store: inspection.NewStore(db), Calendars: calendars})
	acts = append(acts, &activities.AuditHeads{DB: db})
	matcher := staffing.NewService(db)
	acts = append(acts, &activities.Matching{Matcher: matcher, Replacer: matcher, Teams: matcher})
	acts = append(acts, &activities.Progress{Reader: stats.NewService(db)})
	acts = append(acts, &activities.Batches{
		Steps: activities.BatchSteps{Service: batches},
		Closing: &archive.Closer{DB: db, Population: func(ctx context.Context, id string, buf *bytes.Buffer) error {
			return batches.WritePopulation(ctx, id, buf)
		}},
	})
	acts = append(acts, &activities.Plans{Plans: plan.NewService(db), DefaultPolicy: lifecycle.DefaultPolicy(),
		Starter: &activities.Starter{Batches: batches, Temporal: tc, TaskQueue: cfg.TaskQueue}})
	contacts := notify.NewStore(db)
	notifier := &activities.Notifier{Store: contacts, Channels: notifyChannels(cfg, log), Log: log.Named("notify")}
	acts = append(acts, notifier)
	acts = append(acts, &activities.Digests{Source: activities.DigestStores{Contacts: contacts, Tasks: digest.NewStore(db)},
		Notifier: notifier, Calendars: calendars, CountyPage: cfg.CountyPageURL})
	return acts
}

// registerWorkerSettings exports the worker's settings as the gauge
// spotcheck_worker_setting{setting=...}, beside the SDK's own figures of
// their use (temporal_worker_task_slots_used, temporal_num_pollers,
// temporal_sticky_cache_size).
func registerWorkerSettings(reg prometheus.Registerer, cfg *config.Config) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "spotcheck_worker_setting",
		Help: "Configured limit of the Temporal worker (WORKER_* settings).",
	}, []string{"setting"})
	for name, v := range map[string]int{
		"activity_concurrency":       cfg.WorkerActivityConcurrency,
		"local_activity_concurrency": cfg.WorkerLocalActivityConcurrency,
		"workflow_concurrency":       cfg.WorkerWorkflowConcurrency,
		"activity_pollers":           cfg.WorkerActivityPollers,
		"workflow_pollers":           cfg.WorkerWorkflowPollers,
		"sticky_cache_size":          cfg.WorkerStickyCacheSize,
		"bulk_concurrency":           cfg.WorkerBulkConcurrency,
	} {
		g.WithLabelValues(name).Set(float64(v))
	}
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register worker settings metrics: %w", err)
	}
	return nil
}

// digestSchedule is the Temporal Schedule that starts the day's digests at
// DIGEST_TIME in China. The spec is in UTC (China keeps UTC+8 all year), so
// it does not depend on the time zone database of the Temporal server.
func digestSchedule(cfg *config.Config) (client.ScheduleOptions, error) {
	at, err := cfg.DigestClock()
	if err != nil {
		return client.ScheduleOptions{}, err
	}
	utc := (at - 8*time.Hour + 24*time.Hour) % (24 * time.Hour)
	return client.ScheduleOptions{
		ID: workflows.DigestScheduleID,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour:   []client.ScheduleRange{{Start: int(utc / time.Hour)}},
			Minute: []client.ScheduleRange{{Start: int(utc % time.Hour / time.Minute)}},
		}}},
		Action: &client.ScheduleWorkflowAction{ID: workflows.DigestScheduleID, Workflow: workflows.DigestWorkflow, TaskQueue: cfg.TaskQueue},
		// A worker down at the time still sends the morning's digest when
		// it is back within hours; never two runs at once.
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 6 * time.Hour,
	}, nil
}

// ensureDigestSchedule creates the digest schedule, or sets its time when
// it exists (DIGEST_TIME may have changed since).
func ensureDigestSchedule(ctx context.Context, tc client.Client, cfg *config.Config) error {
	opts, err := digestSchedule(cfg)
	if err != nil {
		return err
	}
	return ensureSchedule(ctx, tc, opts)
}

// notifyChannels builds the notification channels the settings allow: email
// only when SMTP_ADDR is set (contacts on email are otherwise refused, and
// say so in their delivery records).
func notifyChannels(cfg *config.Config, log *zap.Logger) map[string]notify.Channel {
	ch := map[string]notify.Channel{
		notify.ChannelWebhook:  &notify.Webhook{Secret: cfg.WebhookSecret},
		notify.ChannelLog:      &notify.Log{Logger: log.Named("notification")},
		notify.ChannelDingTalk: &notify.DingTalk{BaseURL: cfg.DingTalkBaseURL},
		notify.ChannelWeCom:    &notify.WeCom{BaseURL: cfg.WeComBaseURL},
	}
	if cfg.SMTPAddr != "" {
		ch[notify.ChannelEmail] = &notify.Email{
			Addr: cfg.SMTPAddr, From: cfg.SMTPFrom,
			Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS,
		}
	}
	return ch
}
