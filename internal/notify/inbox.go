package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Sent is a notification as it was sent: what, to which region and role,
// when, and how each contact's delivery went.
type Sent struct {
	Notification
	CreatedAt  time.Time  `json:"created_at"`
	Deliveries []Delivery `json:"deliveries"`
	// Delivered is true when at least one contact received it (or holds it
	// for the day's digest).
	Delivered bool `json:"delivered"`
}

// InboxFilter narrows the list of sent notifications; empty fields match
// everything. County matches the notifications of a county's region and
// those about it (an escalation to the city names the county).
type InboxFilter struct {
	County, Role, Kind, BatchID string
	// Inspector keeps the notifications about the tasks whose team has
	// the inspector.
	Inspector string
}

// InboxCursor is the position after the last notification of a page:
// the list runs newest first.
type InboxCursor struct {
	CreatedAt time.Time
	ID        string
}

// Inbox lists sent notifications newest first, after the cursor when one
// is given, at most limit, each with its deliveries.
func (s *Store) Inbox(ctx context.Context, f InboxFilter, after *InboxCursor, limit int) ([]Sent, error) {
	var rows []struct {
		ID         string    `db:"id"`
		Kind       string    `db:"kind"`
		RegionCode string    `db:"region_code"`
		RegionName string    `db:"region_name"`
		Role       string    `db:"role"`
		Subject    string    `db:"subject"`
		Body       string    `db:"body"`
		Payload    []byte    `db:"payload"`
		CreatedAt  time.Time `db:"created_at"`
	}
	var at *time.Time
	var afterID string
	if after != nil {
		at, afterID = &after.CreatedAt, after.ID
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT id, kind, region_code, coalesce((SELECT name FROM regions WHERE code = region_code), '') AS region_name,
		       role, subject, body, payload, created_at
		  FROM notifications
		 WHERE ($1 = '' OR region_code = $1 OR payload->>'county' = $1)
		   AND ($2 = '' OR role = $2) AND ($3 = '' OR kind = $3) AND ($4 = '' OR payload->>'batch_id' = $4)
		   AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
		   AND ($8 = '' OR EXISTS (SELECT 1 FROM tasks t WHERE t.batch_id = payload->>'batch_id'
		                           AND t.object_key = payload->>'object_key' AND $8 = ANY (t.inspectors)))
		 ORDER BY created_at DESC, id DESC
		 LIMIT $7`, f.County, f.Role, f.Kind, f.BatchID, at, afterID, limit, f.Inspector)
	if err != nil {
		return nil, fmt.Errorf("notify: list sent notifications: %w", err)
	}
	list := make([]Sent, 0, len(rows))
	index := map[string]int{}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		n := Sent{Notification: Notification{ID: r.ID, Kind: r.Kind, RegionCode: r.RegionCode, RegionName: r.RegionName, Role: r.Role,
			Subject: r.Subject, Body: r.Body}, CreatedAt: r.CreatedAt, Deliveries: []Delivery{}}
		if err := json.Unmarshal(r.Payload, &n.Payload); err != nil {
			return nil, fmt.Errorf("notify: payload of %s: %w", r.ID, err)
		}
		index[r.ID] = len(list)
		ids = append(ids, r.ID)
		list = append(list, n)
	}
	if len(ids) == 0 {
		return list, nil
	}
	var deliveries []Delivery
	err = s.db.SelectContext(ctx, &deliveries, `
		SELECT id, notification_id, contact_id, channel, address, status, attempts, last_error,
		       first_attempt_at, last_attempt_at, delivered_at
		  FROM notification_deliveries WHERE notification_id = ANY($1) ORDER BY id`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("notify: deliveries of sent notifications: %w", err)
	}
	for _, d := range deliveries {
		n := &list[index[d.NotificationID]]
		n.Deliveries = append(n.Deliveries, d)
		n.Delivered = n.Delivered || d.Status == "delivered" || d.Status == StatusDigested
	}
	return list, nil
}
