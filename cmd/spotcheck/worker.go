package main

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/spotcheck-gov/spotcheck/activities"
	"github.com/spotcheck-gov/spotcheck/internal/config"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// newWorker creates the worker and registers every workflow and activity.
func newWorker(tc client.Client, cfg *config.Config) worker.Worker {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		// Leave half the shutdown budget to the HTTP drain and the rest.
		WorkerStopTimeout: cfg.ShutdownTimeout / 2,
	})
	w.RegisterActivity(&activities.Deadlines{Calendars: activities.StaticCalendar{Cal: workday.Default()}})
	return w
}
