package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the lowercase hex HMAC-SHA256 of
	// the request body, keyed with the contact's secret.
	SignatureHeader = "X-Spotcheck-Signature"
	// DeliveryHeader carries the notification ID: a receiver that gets the
	// same ID twice (a retry after a lost answer) should act once.
	DeliveryHeader = "X-Spotcheck-Delivery"
)

// Webhook posts notifications as JSON to the contact's URL.
type Webhook struct {
	// Client sends the requests; nil means one with a 15-second timeout.
	Client *http.Client
	// Secret signs requests to contacts that have no secret of their own
	// (setting WEBHOOK_SECRET).
	Secret string
}

// WebhookBody is the JSON body of a webhook request. It is the same on
// every attempt, so a signature can be checked and a repeat recognised.
type WebhookBody struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	RegionCode string         `json:"region_code"`
	Role       string         `json:"role"`
	Subject    string         `json:"subject"`
	Body       string         `json:"body"`
	Payload    map[string]any `json:"payload,omitempty"`
	ContactID  int64          `json:"contact_id"`
}

var defaultWebhookClient = &http.Client{
	Timeout: 15 * time.Second,
	// A redirect would turn the POST into a GET elsewhere; report it instead.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Sign returns the SignatureHeader value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts n to to.Address. A 2xx answer is success; 408, 429, other
// non-2xx answers and network errors may succeed later; any other 4xx is
// permanent, as is a contact with no secret when none is configured.
func (w *Webhook) Send(ctx context.Context, to Recipient, n Notification) error {
	secret := to.Secret
	if secret == "" {
		secret = w.Secret
	}
	if secret == "" {
		return Permanent(fmt.Errorf("webhook contact %d has no secret and WEBHOOK_SECRET is not set: requests would be unsigned", to.ContactID))
	}
	body, err := json.Marshal(WebhookBody{
		ID: n.ID, Kind: n.Kind, RegionCode: n.RegionCode, Role: n.Role,
		Subject: n.Subject, Body: n.Body, Payload: n.Payload, ContactID: to.ContactID,
	})
	if err != nil {
		return Permanent(fmt.Errorf("encode webhook body: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.Address, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook URL %q: %w", to.Address, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "spotcheck-notify/1")
	req.Header.Set(SignatureHeader, Sign(secret, body))
	req.Header.Set(DeliveryHeader, n.ID)
	client := w.Client
	if client == nil {
		client = defaultWebhookClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, query included; say it once, redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook POST %s: %w", redactURL(to.Address), err)
	}
	defer resp.Body.Close()
	// Enough of the answer to say why, not enough to fill the database.
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return statusError(resp.StatusCode, fmt.Errorf("webhook POST %s: %s: %s", redactURL(to.Address), resp.Status, strings.TrimSpace(string(excerpt))))
}

// statusError classes err, an HTTP answer of status code other than 2xx:
// 408, 429 and 5xx may pass later, any other 4xx is permanent.
func statusError(code int, err error) error {
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

// redactURL drops the query of a webhook URL from messages that are stored
// and logged: tokens are often passed there.
func redactURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}
