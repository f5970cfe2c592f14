package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Store keeps contacts, notifications and deliveries in the database.
type Store struct {
	db *sqlx.DB
}

// NewStore returns a Store on db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// Contact is one way to reach the holder of a role in a region.
type Contact struct {
	ID         int64  `json:"id" db:"id"`
	RegionCode string `json:"region_code" db:"region_code"`
	RegionName string `json:"region_name" db:"region_name"`
	Role       string `json:"role" db:"role"`
	Name       string `json:"name" db:"name"`
	Channel    string `json:"channel" db:"channel"`
	Address    string `json:"address" db:"address"`
	// HasSecret says whether a webhook has its own signing key; the key
	// itself is never shown.
	HasSecret bool   `json:"has_secret" db:"has_secret"`
	Secret    string `json:"-" db:"secret"`
	// Mobile is @-mentioned in a DingTalk group; Delivery is immediate or
	// digest.
	Mobile    string    `json:"mobile" db:"mobile"`
	Delivery  string    `json:"delivery" db:"delivery"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	CreatedBy string    `json:"created_by" db:"created_by"`
}

// Recipient returns where c receives notifications.
func (c Contact) Recipient() Recipient {
	return Recipient{ContactID: c.ID, Name: c.Name, Channel: c.Channel, Address: c.Address, Secret: c.Secret, Mobile: c.Mobile}
}

// NewContact is a contact to add.
type NewContact struct {
	// RegionCode is the region's code or its name (南湖区).
	RegionCode string `json:"region_code"`
	Role       string `json:"role"`
	Name       string `json:"name"`
	Channel    string `json:"channel"`
	// Address is an http(s) URL for a webhook, a mailbox for email, an
	// optional label for the log, a DingTalk robot's access_token and a
	// WeChat Work robot's key (or the robot's whole webhook URL, from which
	// the token or key is taken).
	Address string `json:"address"`
	// Secret is a webhook's HMAC key (at least 16 characters; empty means
	// the worker's WEBHOOK_SECRET) or a DingTalk robot's signing secret
	// (加签, required). Other channels take none.
	Secret string `json:"secret"`
	// Mobile is the officer's mobile number (11 digits), @-mentioned in a
	// DingTalk group; optional.
	Mobile string `json:"mobile"`
	// Delivery is immediate (the default) or digest: reminders of objects
	// gathered into one message a working day.
	Delivery string `json:"delivery"`
}

const contactColumns = `c.id, c.region_code, r.name AS region_name, c.role, c.name, c.channel, c.address,
	c.secret <> '' AS has_secret, c.secret, c.mobile, c.delivery, c.created_at, c.created_by`

const contactFrom = ` FROM contacts c JOIN regions r ON r.code = c.region_code`

// AddContact validates and stores a contact. Every problem is reported at
// once (fault.Invalid, by field); the same active contact twice is a
// fault.Conflict.
func (s *Store) AddContact(ctx context.Context, in NewContact, actor string) (Contact, error) {
	in = in.canonical()
	in.Address = robotAddress(in.Channel, in.Address)
	if in.Delivery == "" {
		in.Delivery = DeliveryImmediate
	}
	problems := in.check()
	code := ""
	if in.RegionCode != "" {
		err := s.db.GetContext(ctx, &code, `SELECT code FROM regions WHERE code = $1 OR name = $1 ORDER BY code = $1 DESC LIMIT 1`, in.RegionCode)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			problems = append(problems, fault.Problem{Field: "region_code", Message: fmt.Sprintf("%q is neither a region code nor a region name", in.RegionCode)})
		case err != nil:
			return Contact{}, fmt.Errorf("notify: look up region %q: %w", in.RegionCode, err)
		}
	}
	if err := fault.Invalids("the contact is not valid", problems); err != nil {
		return Contact{}, err
	}
	var id int64
	err := s.db.GetContext(ctx, &id, `
		INSERT INTO contacts (region_code, role, name, channel, address, secret, mobile, delivery, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		code, in.Role, strings.TrimSpace(in.Name), in.Channel, in.Address, in.Secret, in.Mobile, in.Delivery, actor)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		var existing int64
		_ = s.db.GetContext(ctx, &existing, `SELECT id FROM contacts WHERE region_code = $1 AND role = $2 AND channel = $3 AND address = $4 AND deleted_at IS NULL`,
			code, in.Role, in.Channel, in.Address)
		return Contact{}, fault.New(fault.Conflict, "this %s contact for %s in %s already exists (id %d)", in.Channel, in.Role, code, existing)
	}
	if err != nil {
		return Contact{}, fmt.Errorf("notify: add contact: %w", err)
	}
	return s.Contact(ctx, id)
}

// check validates the fields that need no database.
func (in NewContact) check() []fault.Problem {
	var problems []fault.Problem
	add := func(field, format string, args ...any) {
		problems = append(problems, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if in.RegionCode == "" {
		add("region_code", "is required: a region code such as 330402 or a name such as 南湖区")
	}
	if !slices.Contains(Roles, in.Role) {
		add("role", "must be one of %s, got %q", strings.Join(Roles, ", "), in.Role)
	}
	if utf8.RuneCountInString(in.Name) > 100 || containsLineBreak(in.Name) {
		add("name", "must be one line of at most 100 characters")
	}
	switch in.Channel {
	case ChannelWebhook:
		if msg := checkWebhookURL(in.Address); msg != "" {
			add("address", "%s", msg)
		}
		if in.Secret != "" && (len(in.Secret) < 16 || len(in.Secret) > 256) {
			add("secret", "must be 16 to 256 characters (or empty to use the worker's WEBHOOK_SECRET)")
		}
	case ChannelEmail:
		if msg := checkMailbox(in.Address); msg != "" {
			add("address", "%s", msg)
		}
	case ChannelLog:
		if utf8.RuneCountInString(in.Address) > 200 || containsLineBreak(in.Address) {
			add("address", "must be one line of at most 200 characters")
		}
	case ChannelDingTalk:
		if !validRobotToken.MatchString(in.Address) {
			add("address", "must be the robot's access_token (the part of its webhook URL after access_token=) or that whole URL")
		}
		if len(in.Secret) < 16 || len(in.Secret) > 256 || containsLineBreak(in.Secret) {
			add("secret", "is required: the robot's signing secret (加签, SEC…) from its security settings")
		}
	case ChannelWeCom:
		if !validRobotToken.MatchString(in.Address) {
			add("address", "must be the robot's key (the part of its webhook URL after key=) or that whole URL")
		}
	default:
		add("channel", "must be one of %s, got %q", strings.Join(Channels, ", "), in.Channel)
	}
	if in.Secret != "" && in.Channel != ChannelWebhook && in.Channel != ChannelDingTalk {
		add("secret", "only a webhook or a DingTalk robot takes a secret")
	}
	if in.Mobile != "" && !validMobile.MatchString(in.Mobile) {
		add("mobile", "must be an 11-digit mobile number such as 13800000000, got %q", in.Mobile)
	}
	if !slices.Contains(DeliveryModes, in.Delivery) {
		add("delivery", "must be one of %s, got %q", strings.Join(DeliveryModes, ", "), in.Delivery)
	}
	return problems
}

var (
	validRobotToken = regexp.MustCompile(`^[A-Za-z0-9_-]{8,200}$`)
	validMobile     = regexp.MustCompile(`^1[0-9]{10}$`)
)

// robotAddress takes a chat robot's token (DingTalk access_token, WeChat
// Work key) out of its webhook URL when the whole URL was given: the
// robot's host is a setting (DINGTALK_BASE_URL, WECOM_BASE_URL), the same
// for every robot of a deployment.
func robotAddress(channel, address string) string {
	param := map[string]string{ChannelDingTalk: "access_token", ChannelWeCom: "key"}[channel]
	if param == "" || !strings.Contains(address, "://") {
		return address
	}
	u, err := url.Parse(address)
	if err != nil {
		return address
	}
	if v := u.Query().Get(param); v != "" {
		return v
	}
	return address
}

func checkWebhookURL(s string) string {
	if s == "" {
		return "is required: the http(s) URL that receives the POST"
	}
	if len(s) > 2048 {
		return "must be at most 2048 characters"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must start with https:// or http://", s)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host", s)
	case u.User != nil:
		return "must not carry a user name or password; the request is signed instead"
	case u.Fragment != "":
		return "must not have a #fragment"
	}
	return ""
}

func checkMailbox(s string) string {
	if s == "" {
		return "is required: an email address"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Sprintf("%q is not a bare email address such as name@example.gov.cn", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || len(s) > 254 {
		return fmt.Sprintf("%q is not a bare email address such as name@example.gov.cn", s)
	}
	return ""
}

// Contact returns an active contact; a missing or deleted one is
// fault.NotFound.
func (s *Store) Contact(ctx context.Context, id int64) (Contact, error) {
	var c Contact
	err := s.db.GetContext(ctx, &c, `SELECT `+contactColumns+contactFrom+` WHERE c.id = $1 AND c.deleted_at IS NULL`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, fault.New(fault.NotFound, "no contact %d", id)
	}
	if err != nil {
		return Contact{}, fmt.Errorf("notify: read contact %d: %w", id, err)
	}
	return c, nil
}

// ContactFilter narrows a contact list; empty fields match everything.
type ContactFilter struct {
	RegionCode string // code or name
	Role       string
	Channel    string
}

// Contacts lists active contacts with IDs above afterID, by ID, at most
// limit of them.
func (s *Store) Contacts(ctx context.Context, f ContactFilter, afterID int64, limit int) ([]Contact, error) {
	var problems []fault.Problem
	if f.Role != "" && !slices.Contains(Roles, f.Role) {
		problems = append(problems, fault.Problem{Field: "role", Message: fmt.Sprintf("must be one of %s", strings.Join(Roles, ", "))})
	}
	if f.Channel != "" && !slices.Contains(Channels, f.Channel) {
		problems = append(problems, fault.Problem{Field: "channel", Message: fmt.Sprintf("must be one of %s", strings.Join(Channels, ", "))})
	}
	if err := fault.Invalids("invalid filter", problems); err != nil {
		return nil, err
	}
	list := []Contact{}
	err := s.db.SelectContext(ctx, &list, `SELECT `+contactColumns+contactFrom+`
		WHERE c.deleted_at IS NULL AND c.id > $1
		  AND ($2 = '' OR c.region_code = $2 OR r.name = $2)
		  AND ($3 = '' OR c.role = $3)
		  AND ($4 = '' OR c.channel = $4)
		ORDER BY c.id LIMIT $5`, afterID, f.RegionCode, f.Role, f.Channel, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: list contacts: %w", err)
	}
	return list, nil
}

// ContactsFor returns the active contacts of role in region, by ID, and
// those of the region's parent: the city coordinator registered for the
// city hears about every county.
func (s *Store) ContactsFor(ctx context.Context, regionCode, role string) ([]Contact, error) {
	list := []Contact{}
	err := s.db.SelectContext(ctx, &list, `SELECT `+contactColumns+contactFrom+`
		WHERE c.deleted_at IS NULL AND c.role = $2
		  AND (c.region_code = $1 OR c.region_code = (SELECT parent_code FROM regions WHERE code = $1))
		ORDER BY c.id`, regionCode, role)
	if err != nil {
		return nil, fmt.Errorf("notify: contacts of %s in %s: %w", role, regionCode, err)
	}
	return list, nil
}

// DeleteContact retires a contact: it receives nothing more, and its past
// deliveries keep naming it. A missing or already deleted contact is
// fault.NotFound.
func (s *Store) DeleteContact(ctx context.Context, id int64, actor string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE contacts SET deleted_at = now(), deleted_by = $2 WHERE id = $1 AND deleted_at IS NULL`, id, actor)
	if err != nil {
		return fmt.Errorf("notify: delete contact %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "no contact %d", id)
	}
	return nil
}

// SaveNotification records n, once: saving the same ID again keeps the
// first record. An unknown region is a fault.Invalid, and an ID reused for
// another region, role or kind a fault.Conflict: both are the caller's
// mistakes that no retry can fix.
func (s *Store) SaveNotification(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	payload := []byte("{}")
	if n.Payload != nil {
		var err error
		if payload, err = json.Marshal(n.Payload); err != nil {
			return fault.Field("payload", "cannot be encoded as JSON: %v", err)
		}
	}
	var known bool
	if err := s.db.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM regions WHERE code = $1)`, n.RegionCode); err != nil {
		return fmt.Errorf("notify: look up region %q: %w", n.RegionCode, err)
	}
	if !known {
		return fault.Field("region_code", "%q is not a region code", n.RegionCode)
	}
	if _, err := s.db.ExecContext(ctx, `
		INSERT INTO notifications (id, kind, region_code, role, subject, body, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Kind, n.RegionCode, n.Role, n.Subject, n.Body, string(payload)); err != nil {
		return fmt.Errorf("notify: save notification %s: %w", n.ID, err)
	}
	var stored struct {
		Kind       string `db:"kind"`
		RegionCode string `db:"region_code"`
		Role       string `db:"role"`
	}
	if err := s.db.GetContext(ctx, &stored, `SELECT kind, region_code, role FROM notifications WHERE id = $1`, n.ID); err != nil {
		return fmt.Errorf("notify: read notification %s: %w", n.ID, err)
	}
	if stored.Kind != n.Kind || stored.RegionCode != n.RegionCode || stored.Role != n.Role {
		return fault.New(fault.Conflict, "notification ID %s was already used for a %s to %s in %s", n.ID, stored.Kind, stored.Role, stored.RegionCode)
	}
	return nil
}

// Delivery statuses.
const (
	StatusSending   = "sending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	StatusRejected  = "rejected"
	StatusNoContact = "no_contact"
)

// Delivery is the record of one notification to one contact.
type Delivery struct {
	ID             int64      `json:"id" db:"id"`
	NotificationID string     `json:"notification_id" db:"notification_id"`
	ContactID      *int64     `json:"contact_id" db:"contact_id"`
	Channel        string     `json:"channel" db:"channel"`
	Address        string     `json:"address" db:"address"`
	Status         string     `json:"status" db:"status"`
	Attempts       int        `json:"attempts" db:"attempts"`
	LastError      string     `json:"last_error" db:"last_error"`
	FirstAttemptAt *time.Time `json:"first_attempt_at" db:"first_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at" db:"last_attempt_at"`
	DeliveredAt    *time.Time `json:"delivered_at" db:"delivered_at"`
}

// Claim is the answer to ClaimDelivery.
type Claim struct {
	// Attempt is the number of the attempt now holding the delivery, or 0
	// if none may be made now.
	Attempt int
	// Status is StatusSending when Attempt > 0; otherwise the status that
	// prevents an attempt (delivered, rejected, or sending elsewhere).
	Status string
	// LastError is the last recorded error, e.g. why it was rejected.
	LastError string
}

// ClaimDelivery starts an attempt to deliver notificationID to c, unless it
// has been delivered, was rejected for good, or another attempt holds it
// (one that started less than lease ago).
func (s *Store) ClaimDelivery(ctx context.Context, notificationID string, c Contact, lease time.Duration) (Claim, error) {
	var cl Claim
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO notification_deliveries AS d
		       (notification_id, contact_id, channel, address, status, attempts, first_attempt_at, last_attempt_at)
		VALUES ($1, $2, $3, $4, 'sending', 1, now(), now())
		ON CONFLICT (notification_id, contact_id) DO UPDATE
		   SET status = 'sending', attempts = d.attempts + 1, last_attempt_at = now(),
		       channel = EXCLUDED.channel, address = EXCLUDED.address
		 WHERE d.status = 'failed'
		    OR (d.status = 'sending' AND d.last_attempt_at < now() - make_interval(secs => $5))
		RETURNING attempts, status, last_error`,
		notificationID, c.ID, c.Channel, c.Address, lease.Seconds()).Scan(&cl.Attempt, &cl.Status, &cl.LastError)
	if err == nil {
		return cl, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Claim{}, fmt.Errorf("notify: claim delivery of %s to contact %d: %w", notificationID, c.ID, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT status, last_error FROM notification_deliveries WHERE notification_id = $1 AND contact_id = $2`,
		notificationID, c.ID).Scan(&cl.Status, &cl.LastError); err != nil {
		return Claim{}, fmt.Errorf("notify: read delivery of %s to contact %d: %w", notificationID, c.ID, err)
	}
	return cl, nil
}

// maxErrorLen bounds a stored error message.
const maxErrorLen = 1000

// FinishDelivery records the outcome of attempt: delivered when sendErr is
// nil, rejected when it is permanent, failed otherwise. It returns the
// status recorded.
func (s *Store) FinishDelivery(ctx context.Context, notificationID string, contactID int64, attempt int, sendErr error) (string, error) {
	status, msg := StatusDelivered, ""
	if sendErr != nil {
		status, msg = StatusFailed, truncate(sendErr.Error(), maxErrorLen)
		if IsPermanent(sendErr) {
			status = StatusRejected
		}
	}
	_, err := s.db.ExecContext(ctx, `
		UPDATE notification_deliveries
		   SET status = $4,
		       last_error = CASE WHEN $5 = '' THEN last_error ELSE $5 END,
		       delivered_at = CASE WHEN $4 = 'delivered' THEN now() END
		 WHERE notification_id = $1 AND contact_id = $2 AND attempts = $3 AND status = 'sending'`,
		notificationID, contactID, attempt, status, msg)
	if err != nil {
		return "", fmt.Errorf("notify: record delivery of %s to contact %d: %w", notificationID, contactID, err)
	}
	return status, nil
}

// RecordNoContact records, once, that notificationID found nobody to tell.
func (s *Store) RecordNoContact(ctx context.Context, notificationID string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO notification_deliveries (notification_id, contact_id, channel, status, attempts, first_attempt_at, last_attempt_at)
		VALUES ($1, NULL, 'log', 'no_contact', 1, now(), now())
		ON CONFLICT (notification_id, contact_id) DO NOTHING`, notificationID)
	if err != nil {
		return fmt.Errorf("notify: record that %s has no contact: %w", notificationID, err)
	}
	return nil
}

// Deliveries lists the delivery records of a notification, by ID.
func (s *Store) Deliveries(ctx context.Context, notificationID string) ([]Delivery, error) {
	list := []Delivery{}
	err := s.db.SelectContext(ctx, &list, `
		SELECT id, notification_id, contact_id, channel, address, status, attempts, last_error,
		       first_attempt_at, last_attempt_at, delivered_at
		  FROM notification_deliveries WHERE notification_id = $1 ORDER BY id`, notificationID)
	if err != nil {
		return nil, fmt.Errorf("notify: deliveries of %s: %w", notificationID, err)
	}
	return list, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// StatusDigested records that a reminder was not sent to a digest contact
// on its own: the contact reads it in the day's digest.
const StatusDigested = "digested"

// HoldForDigest records, once, that notificationID is left to c's digest.
// A delivery already made or held keeps its record.
func (s *Store) HoldForDigest(ctx context.Context, notificationID string, c Contact) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO notification_deliveries (notification_id, contact_id, channel, address, status, attempts, first_attempt_at, last_attempt_at)
		VALUES ($1, $2, $3, $4, 'digested', 0, now(), now())
		ON CONFLICT (notification_id, contact_id) DO NOTHING`, notificationID, c.ID, c.Channel, c.Address)
	if err != nil {
		return fmt.Errorf("notify: hold %s for the digest of contact %d: %w", notificationID, c.ID, err)
	}
	return nil
}

// DigestContacts lists the active contacts that take digests, by ID.
func (s *Store) DigestContacts(ctx context.Context) ([]Contact, error) {
	list := []Contact{}
	err := s.db.SelectContext(ctx, &list, `SELECT `+contactColumns+contactFrom+`
		WHERE c.deleted_at IS NULL AND c.delivery = 'digest' ORDER BY c.id`)
	if err != nil {
		return nil, fmt.Errorf("notify: digest contacts: %w", err)
	}
	return list, nil
}
