package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// DigestSource is what Digests needs of the database.
type DigestSource interface {
	DigestContacts(ctx context.Context) ([]notify.Contact, error)
	Contact(ctx context.Context, id int64) (notify.Contact, error)
	Gather(ctx context.Context, region string, day, horizon workday.Date) (digest.Digest, error)
}

// DigestStores is the DigestSource of the database: contacts and task rows.
type DigestStores struct {
	Contacts *notify.Store
	Tasks    *digest.Store
}

// DigestContacts lists the contacts that take digests.
func (s DigestStores) DigestContacts(ctx context.Context) ([]notify.Contact, error) {
	return s.Contacts.DigestContacts(ctx)
}

// Contact returns an active contact.
func (s DigestStores) Contact(ctx context.Context, id int64) (notify.Contact, error) {
	return s.Contacts.Contact(ctx, id)
}

// Gather returns a region's open deadlines.
func (s DigestStores) Gather(ctx context.Context, region string, day, horizon workday.Date) (digest.Digest, error) {
	return s.Tasks.Gather(ctx, region, day, horizon)
}

// Digests sends each digest contact one message a working day with its
// region's open deadlines (package digest), through the Notifier's
// channels and delivery records.
type Digests struct {
	Source    DigestSource
	Notifier  *Notifier
	Calendars CalendarSource
	// CountyPage is COUNTY_PAGE_URL: the link in each digest, "" for none.
	CountyPage string
}

// DigestDay is the plan of a day's digests.
type DigestDay struct {
	Day        workday.Date `json:"day"`
	WorkingDay bool         `json:"working_day"`
	// Horizon is the Ahead-th working day after Day (on working days), or
	// the last day the calendar can count when that runs into a year
	// without a schedule.
	Horizon *workday.Date `json:"horizon,omitempty"`
	// Unscheduled names a year the calendar lacks: when Day is in it, no
	// digest can be planned until the administrator adds it; when only the
	// horizon reaches it, the digests look as far as the calendar goes.
	Unscheduled int     `json:"unscheduled_year,omitempty"`
	Contacts    []int64 `json:"contacts,omitempty"`
}

// PlanDigests says whether day is a working day, how far its digests look
// ahead, and which contacts take one.
func (a *Digests) PlanDigests(ctx context.Context, day workday.Date) (DigestDay, error) {
	p := DigestDay{Day: day}
	cal, err := a.Calendars.Calendar(ctx)
	if err != nil {
		return p, fmt.Errorf("load working-day calendar: %w", err)
	}
	var unscheduled *workday.UnscheduledYearError
	if p.WorkingDay, err = cal.IsWorkingDay(day); err == nil && p.WorkingDay {
		var h workday.Date
		h, err = cal.AddWorkingDays(day, digest.Ahead)
		if errors.As(err, &unscheduled) {
			// Late December before next year's schedule is out: the county
			// still hears of what is due this year and what is overdue.
			h, err, p.Unscheduled = workday.Date{Year: unscheduled.Year - 1, Month: time.December, Day: 31}, nil, unscheduled.Year
		}
		p.Horizon = &h
	}
	if errors.As(err, &unscheduled) {
		p.WorkingDay, p.Horizon, p.Unscheduled = false, nil, unscheduled.Year
		return p, nil
	}
	if err != nil || !p.WorkingDay {
		return p, err
	}
	contacts, err := a.Source.DigestContacts(ctx)
	if err != nil {
		return p, err
	}
	for _, c := range contacts {
		p.Contacts = append(p.Contacts, c.ID)
	}
	return p, nil
}

// DigestInput asks for one contact's digest of a day.
type DigestInput struct {
	ContactID int64        `json:"contact_id"`
	Day       workday.Date `json:"day"`
	Horizon   workday.Date `json:"horizon"`
}

// SendDigest gathers and sends one contact's digest, once: its ID names
// the contact and the day, so a retry or a second run of the day finds it
// delivered. Nothing is sent when nothing is due or overdue, or when the
// contact was deleted meanwhile. A delivery that may pass later fails the
// activity for a retry; a refusal fails it for good ("NotificationRejected").
func (a *Digests) SendDigest(ctx context.Context, in DigestInput) (DeliveryOutcome, error) {
	out := DeliveryOutcome{ContactID: in.ContactID}
	c, err := a.Source.Contact(ctx, in.ContactID)
	if fault.KindOf(err) == fault.NotFound {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.Channel = c.Channel
	d, err := a.Source.Gather(ctx, c.RegionCode, in.Day, in.Horizon)
	if err != nil {
		return out, err
	}
	if d.Empty() {
		return out, nil
	}
	n := digest.Message(digest.ID(c.ID, in.Day), d, c.Role, a.CountyPage)
	if err := a.Notifier.Store.SaveNotification(ctx, n); err != nil {
		if fault.KindOf(err) != 0 {
			return out, temporal.NewNonRetryableApplicationError(err.Error(), "BadNotification", err)
		}
		return out, err
	}
	if out, err = a.Notifier.deliver(ctx, n, c); err != nil {
		return out, err
	}
	switch out.Status {
	case notify.StatusFailed, notify.StatusSending:
		return out, fmt.Errorf("digest %s to contact %d: %s", n.ID, c.ID, out.Error)
	case notify.StatusRejected:
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("digest %s to contact %d refused: %s", n.ID, c.ID, out.Error), "NotificationRejected", nil, out)
	}
	return out, nil
}
