package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
)

// NotifyStore is what Notifier needs of the database.
type NotifyStore interface {
	SaveNotification(ctx context.Context, n notify.Notification) error
	ContactsFor(ctx context.Context, regionCode, role string) ([]notify.Contact, error)
	ClaimDelivery(ctx context.Context, notificationID string, c notify.Contact, lease time.Duration) (notify.Claim, error)
	FinishDelivery(ctx context.Context, notificationID string, contactID int64, attempt int, sendErr error) (string, error)
	RecordNoContact(ctx context.Context, notificationID string) error
	HoldForDigest(ctx context.Context, notificationID string, c notify.Contact) error
}

// Notifier delivers notifications to the contacts of a role in a region.
type Notifier struct {
	Store NotifyStore
	// Channels by name (notify.ChannelWebhook, ...). A contact whose channel
	// is missing here is rejected: e.g. email when SMTP_ADDR is not set.
	Channels map[string]notify.Channel
	Log      *zap.Logger
	// SendTimeout bounds one send; zero means 30 seconds.
	SendTimeout time.Duration
}

// NotifyResult says what became of each contact's delivery.
type NotifyResult struct {
	NotificationID string `json:"notification_id"`
	// NoContact is set when nobody holds the role in the region: the
	// notification is logged and recorded, and the activity succeeds, since
	// no retry can create a contact.
	NoContact  bool              `json:"no_contact,omitempty"`
	Deliveries []DeliveryOutcome `json:"deliveries,omitempty"`
}

// DeliveryOutcome is one contact's delivery after this attempt.
type DeliveryOutcome struct {
	ContactID int64  `json:"contact_id"`
	Channel   string `json:"channel"`
	// Status is the recorded status (notify.StatusDelivered, ...).
	Status string `json:"status"`
	// Attempt is this attempt's number, 0 if nothing was sent now (already
	// delivered or rejected, or another attempt holds the delivery).
	Attempt int    `json:"attempt,omitempty"`
	Error   string `json:"error,omitempty"`
}

// deliveryLease is how long an attempt holds a delivery before another may
// take it over: longer than any send may take.
const deliveryLease = 2 * time.Minute

// Notify sends n to every active contact of n.Role in n.RegionCode that has
// not received it yet, recording each attempt. It fails, so that Temporal
// retries it, if any delivery failed in a way that may pass; deliveries
// already made are skipped on the retry. Deliveries the receiver refused for
// good (a 4xx answer, a 5xx SMTP reply, a channel this worker lacks) fail it
// without retry (error type "NotificationRejected"), as does an invalid
// notification ("BadNotification").
func (a *Notifier) Notify(ctx context.Context, n notify.Notification) (NotifyResult, error) {
	res := NotifyResult{NotificationID: n.ID}
	// People read names beside the codes the workflows write.
	if nm, ok := a.Store.(interface {
		Named(context.Context, notify.Notification) (notify.Notification, error)
	}); ok {
		named, err := nm.Named(ctx, n)
		if err != nil {
			return res, err
		}
		n = named
	}
	if err := a.Store.SaveNotification(ctx, n); err != nil {
		if fault.KindOf(err) != 0 {
			return res, temporal.NewNonRetryableApplicationError(err.Error(), "BadNotification", err)
		}
		return res, err
	}
	contacts, err := a.Store.ContactsFor(ctx, n.RegionCode, n.Role)
	if err != nil {
		return res, err
	}
	if len(contacts) == 0 {
		a.Log.Warn("notification has no contact: logged only; add a contact for the role in the region",
			zap.String("notification_id", n.ID), zap.String("region_code", n.RegionCode), zap.String("role", n.Role),
			zap.String("subject", n.Subject), zap.String("body", n.Body))
		if err := a.Store.RecordNoContact(ctx, n.ID); err != nil {
			return res, err
		}
		res.NoContact = true
		return res, nil
	}

	var retryable, rejected []string
	for _, c := range contacts {
		if c.Delivery == notify.DeliveryDigest && digestible(n) {
			// The day's digest tells this contact; recorded, not sent.
			if err := a.Store.HoldForDigest(ctx, n.ID, c); err != nil {
				return res, err
			}
			res.Deliveries = append(res.Deliveries, DeliveryOutcome{ContactID: c.ID, Channel: c.Channel, Status: notify.StatusDigested})
			continue
		}
		out, err := a.deliver(ctx, n, c)
		if err != nil {
			return res, err
		}
		res.Deliveries = append(res.Deliveries, out)
		switch out.Status {
		case notify.StatusFailed, notify.StatusSending:
			retryable = append(retryable, fmt.Sprintf("contact %d (%s): %s", c.ID, c.Channel, out.Error))
		case notify.StatusRejected:
			rejected = append(rejected, fmt.Sprintf("contact %d (%s): %s", c.ID, c.Channel, out.Error))
		}
		activity.RecordHeartbeat(ctx, len(res.Deliveries))
	}
	switch {
	case len(retryable) > 0:
		// Retry: what failed may pass, and what was refused stays recorded.
		return res, fmt.Errorf("notification %s: %d of %d deliveries not made: %s",
			n.ID, len(retryable)+len(rejected), len(contacts), strings.Join(append(retryable, rejected...), "; "))
	case len(rejected) > 0:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("notification %s: %d of %d deliveries refused: %s", n.ID, len(rejected), len(contacts), strings.Join(rejected, "; ")),
			"NotificationRejected", nil, res)
	}
	return res, nil
}

// digestible reports whether n waits for a digest contact's daily digest:
// the reminders of an object's deadlines, which the digest lists. County
// reminders (the match), escalations, assignments and notices go at once.
func digestible(n notify.Notification) bool {
	_, object := n.Payload["object_key"]
	return n.Kind == notify.KindReminder && object
}

// deliver makes one contact's delivery unless it is done or held elsewhere.
// Only a failure to record is returned as an error.
func (a *Notifier) deliver(ctx context.Context, n notify.Notification, c notify.Contact) (DeliveryOutcome, error) {
	out := DeliveryOutcome{ContactID: c.ID, Channel: c.Channel}
	claim, err := a.Store.ClaimDelivery(ctx, n.ID, c, deliveryLease)
	if err != nil {
		return out, err
	}
	out.Status = claim.Status
	switch {
	case claim.Attempt == 0 && claim.Status == notify.StatusSending:
		out.Error = "another attempt is sending it now"
		return out, nil
	case claim.Attempt == 0:
		if claim.Status == notify.StatusRejected {
			out.Error = "refused in an earlier attempt: " + claim.LastError
		}
		return out, nil
	}
	attempt := claim.Attempt
	out.Attempt = attempt
	sendErr := a.send(ctx, n, c)
	// Record the outcome even if the activity's context has just ended.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if out.Status, err = a.Store.FinishDelivery(rctx, n.ID, c.ID, attempt, sendErr); err != nil {
		return out, err
	}
	log := a.Log.With(zap.String("notification_id", n.ID), zap.Int64("contact_id", c.ID),
		zap.String("channel", c.Channel), zap.Int("attempt", attempt))
	if sendErr != nil {
		out.Error = sendErr.Error()
		log.Warn("notification delivery failed", zap.String("status", out.Status), zap.Error(sendErr))
	} else {
		log.Info("notification delivered")
	}
	return out, nil
}

func (a *Notifier) send(ctx context.Context, n notify.Notification, c notify.Contact) error {
	ch, ok := a.Channels[c.Channel]
	if !ok || ch == nil {
		return notify.Permanent(fmt.Errorf("channel %s is not configured on this worker", c.Channel))
	}
	timeout := a.SendTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ch.Send(sctx, c.Recipient(), n)
}
