package activities

import (
	"context"
	"fmt"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

// Tasks writes what happens to each drawn object into the database, the
// system of record for lists, dashboards and public pages, through the
// inspection store (its writes are idempotent and audited).
type Tasks struct {
	Store     *inspection.Store
	Calendars CalendarSource
}

// The records the object workflow writes (their JSON is in its history).
type (
	TaskRecord      = inspection.TaskState
	ResultRecord    = inspection.ResultRecord
	ReviewRecord    = inspection.ReviewRecord
	FollowUpRecord  = inspection.FollowUpRecord
	TransferRecord  = inspection.TransferRecord
	PublishInput    = inspection.PublishInput
	Lapse           = inspection.Lapse
	Resolution      = inspection.Resolution
	ExtensionRecord = inspection.ExtensionRecord
	PageAssignment  = inspection.PageAssignment
	PageLapse       = inspection.PageLapse
)

// Record upserts the task row; a write older than the stored one is
// ignored.
func (t *Tasks) Record(ctx context.Context, r TaskRecord) error { return t.Store.RecordTask(ctx, r) }

// SaveResult stores a result revision once.
func (t *Tasks) SaveResult(ctx context.Context, r ResultRecord) error {
	return t.Store.SaveResult(ctx, r)
}

// SaveReview records the decision on a revision that has none yet.
func (t *Tasks) SaveReview(ctx context.Context, r ReviewRecord) error {
	return t.Store.SaveReview(ctx, r)
}

// SaveFollowUp upserts the follow-up; actions, once entered, are kept.
func (t *Tasks) SaveFollowUp(ctx context.Context, r FollowUpRecord) error {
	return t.Store.SaveFollowUp(ctx, r)
}

// SaveTransfer records the judicial transfer once.
func (t *Tasks) SaveTransfer(ctx context.Context, r TransferRecord) error {
	return t.Store.SaveTransfer(ctx, r)
}

// Publish makes the approved result public (结果公示), once.
func (t *Tasks) Publish(ctx context.Context, in PublishInput) error { return t.Store.Publish(ctx, in) }

// OpenAccountability writes the ledger entry for a missed deadline.
func (t *Tasks) OpenAccountability(ctx context.Context, l Lapse) error {
	return t.Store.OpenLapse(ctx, l)
}

// AssignPage assigns a page of objects to their teams, with the batch's
// inspection deadline, in one write.
func (t *Tasks) AssignPage(ctx context.Context, a PageAssignment) error {
	return t.Store.AssignPage(ctx, a)
}

// OpenPageAccountability writes the ledger entries of a deadline missed by
// objects of a page nobody has reported on, and flags their tasks.
func (t *Tasks) OpenPageAccountability(ctx context.Context, l PageLapse) error {
	return t.Store.OpenPageLapse(ctx, l)
}

// ResolveAccountability records how many working days late the duty was
// met; an unscheduled year leaves the count empty for a person to settle.
func (t *Tasks) ResolveAccountability(ctx context.Context, r Resolution) (int, error) {
	cal, err := t.Calendars.Calendar(ctx)
	if err != nil {
		return 0, fmt.Errorf("load working-day calendar: %w", err)
	}
	late, err := cal.WorkingDaysBetween(r.Due, r.On)
	var days *int
	if err == nil {
		days = &late
	}
	return late, t.Store.ResolveLapse(ctx, r, days)
}

// SaveExtension records a deadline extension once.
func (t *Tasks) SaveExtension(ctx context.Context, e ExtensionRecord) error {
	return t.Store.SaveExtension(ctx, e)
}
