-- Notifications: who is told (contacts per county and role, each on one
-- channel), what they are told (notifications, keyed by their natural
-- idempotency key), and every delivery attempt's outcome.

-- +goose Up
CREATE TABLE contacts (
    id          bigserial PRIMARY KEY,
    region_code text NOT NULL REFERENCES regions (code),
    -- county_officer, county_head, city_coordinator, ...: the Go code keeps
    -- the list; the database only keeps the spelling sane.
    role        text NOT NULL CHECK (role ~ '^[a-z][a-z_]{1,39}$'),
    name        text NOT NULL DEFAULT '',
    channel     text NOT NULL CHECK (channel IN ('webhook', 'email', 'log')),
    address     text NOT NULL CHECK (address !~ '[\r\n]' AND length(address) <= 2048),
    -- HMAC key of a webhook; never returned by the API.
    secret      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    -- Deleted contacts are kept: their deliveries still name them.
    deleted_at  timestamptz,
    deleted_by  text,
    CHECK (channel = 'log' OR address <> '')
);
CREATE UNIQUE INDEX contacts_active_uniq ON contacts (region_code, role, channel, address) WHERE deleted_at IS NULL;

CREATE TABLE notifications (
    -- The natural idempotency key, e.g. reminder/batch/B1/county/330402/result-due/5d.
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:/-]{1,200}$'),
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{1,39}$'),
    region_code text NOT NULL REFERENCES regions (code),
    role        text NOT NULL,
    subject     text NOT NULL CHECK (subject <> ''),
    body        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_region_idx ON notifications (region_code, created_at);

-- One row per notification and contact, however many attempts it took: a
-- delivered row is never sent again. contact_id is NULL for the record that a
-- notification found nobody to tell (status no_contact).
CREATE TABLE notification_deliveries (
    id               bigserial PRIMARY KEY,
    notification_id  text NOT NULL REFERENCES notifications (id),
    contact_id       bigint REFERENCES contacts (id),
    channel          text NOT NULL,
    address          text NOT NULL DEFAULT '',
    -- sending: an attempt holds the row (a lease, see last_attempt_at);
    -- failed: will be retried; rejected: refused for good by the receiver.
    status           text NOT NULL CHECK (status IN ('sending', 'delivered', 'failed', 'rejected', 'no_contact')),
    attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       text NOT NULL DEFAULT '',
    first_attempt_at timestamptz,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (notification_id, contact_id),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL)),
    CHECK ((status = 'no_contact') = (contact_id IS NULL))
);
CREATE INDEX notification_deliveries_contact_idx ON notification_deliveries (contact_id);
CREATE INDEX notification_deliveries_open_idx ON notification_deliveries (status) WHERE status IN ('sending', 'failed', 'rejected');

-- +goose Down
DROP TABLE notification_deliveries;
DROP TABLE notifications;
DROP TABLE contacts;
