// Package notify tells people what the supervision process needs of them:
// reminders of deadlines, escalations, notices. A Notification is addressed
// to a role in a county (region); the contacts table says who holds that
// role and how to reach them, each on one Channel (webhook, email, log, a
// DingTalk or WeChat Work group robot). A contact takes reminders at once or
// gathered into one digest a working day (package digest).
// Every delivery is recorded once per notification and contact, so a retried
// or replayed send never reaches anyone twice once it has succeeded.
package notify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Roles that contacts hold. A county's officer (经办人) receives reminders,
// its head (分管领导) escalations, the city coordinator (市局统筹处室) the
// city-wide view.
const (
	RoleCountyOfficer   = "county_officer"
	RoleCountyHead      = "county_head"
	RoleCityCoordinator = "city_coordinator"
)

// Roles lists the roles a contact may hold.
var Roles = []string{RoleCountyOfficer, RoleCountyHead, RoleCityCoordinator}

// Channel names.
const (
	ChannelWebhook  = "webhook"
	ChannelEmail    = "email"
	ChannelLog      = "log"
	ChannelDingTalk = "dingtalk" // DingTalk custom robot, also 浙政钉's
	ChannelWeCom    = "wecom"    // WeChat Work (企业微信) group robot
)

// Channels lists the channel names a contact may use.
var Channels = []string{ChannelWebhook, ChannelEmail, ChannelLog, ChannelDingTalk, ChannelWeCom}

// Delivery modes of a contact: every notification at once, or reminders of
// objects gathered into one digest a working day (escalations, assignments
// and notices still go at once).
const (
	DeliveryImmediate = "immediate"
	DeliveryDigest    = "digest"
)

// DeliveryModes lists the delivery modes a contact may have.
var DeliveryModes = []string{DeliveryImmediate, DeliveryDigest}

// Kinds of notification; Kind is free text of this shape, these are the
// ones the batch workflow sends.
const (
	KindReminder   = "reminder"   // a deadline is near (提醒)
	KindEscalation = "escalation" // a deadline has passed (督办)
	KindNotice     = "notice"     // something happened (通知)
)

// Notification is one message to the holders of a role in a region.
type Notification struct {
	// ID is the natural idempotency key: the same event always gets the same
	// ID, e.g. "reminder/batch/2026-01/county/330402/result-due/5d". ASCII
	// letters, digits and . _ : / - only (it travels in HTTP and mail headers).
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	RegionCode string `json:"region_code"`
	// RegionName is the region's name, beside its code (set by Named).
	RegionName string `json:"region_name,omitempty"`
	Role       string `json:"role"`
	// Subject and Body are for the people reading them: in Chinese.
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Payload is structured data for machines (webhooks), e.g. the batch ID
	// and the due date.
	Payload map[string]any `json:"payload,omitempty"`
}

var (
	validID   = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,200}$`)
	validKind = regexp.MustCompile(`^[a-z][a-z_]{1,39}$`)
)

const (
	maxSubject = 200
	maxBody    = 20000
)

// Validate reports every problem with n as a fault.Invalid naming the
// fields. Whether the region exists is checked where it is stored.
func (n Notification) Validate() error {
	var problems []fault.Problem
	add := func(field, format string, args ...any) {
		problems = append(problems, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !validID.MatchString(n.ID) {
		add("id", "must be 1 to 200 ASCII letters, digits or . _ : / -, got %q", n.ID)
	}
	if !validKind.MatchString(n.Kind) {
		add("kind", "must be a lower-case word such as %s, got %q", KindReminder, n.Kind)
	}
	if n.RegionCode == "" {
		add("region_code", "is required")
	}
	if !slices.Contains(Roles, n.Role) {
		add("role", "must be one of %v, got %q", Roles, n.Role)
	}
	switch {
	case n.Subject == "":
		add("subject", "is required")
	case !utf8.ValidString(n.Subject) || utf8.RuneCountInString(n.Subject) > maxSubject:
		add("subject", "must be valid UTF-8 of at most %d characters", maxSubject)
	case containsLineBreak(n.Subject):
		add("subject", "must be one line")
	}
	if !utf8.ValidString(n.Body) || utf8.RuneCountInString(n.Body) > maxBody {
		add("body", "must be valid UTF-8 of at most %d characters", maxBody)
	}
	return fault.Invalids("the notification is not valid", problems)
}

func containsLineBreak(s string) bool {
	for _, r := range s {
		if r == '\r' || r == '\n' {
			return true
		}
	}
	return false
}

// Recipient is where one contact receives notifications.
type Recipient struct {
	ContactID int64
	Name      string
	Channel   string
	Address   string
	// Secret is the webhook's HMAC key (a DingTalk robot's signing
	// secret); empty means the channel's own.
	Secret string
	// Mobile is the officer's mobile number, @-mentioned in a group chat.
	Mobile string
}

// Channel delivers a notification to one recipient. Send returns nil only
// once the receiver has accepted the message; an error wrapped by Permanent
// means that trying again cannot help (the receiver refused it), any other
// error that a later attempt may succeed.
type Channel interface {
	Send(ctx context.Context, to Recipient, n Notification) error
}

// PermanentError is a refusal that a retry cannot change.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as a refusal that retrying cannot change.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
