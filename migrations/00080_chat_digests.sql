-- Chat robots and daily digests: contacts may be a DingTalk (or 浙政钉)
-- custom robot or a WeChat Work group robot, name the mobile number of the
-- responsible officer to @ in the group, and take their reminders either at
-- once or gathered into one digest a working day. A reminder held for a
-- digest contact is recorded once as 'digested'; the digest itself is a
-- notification of its own with its own delivery record.

-- +goose Up
ALTER TABLE contacts DROP CONSTRAINT contacts_channel_check;
ALTER TABLE contacts ADD CONSTRAINT contacts_channel_check
    CHECK (channel IN ('webhook', 'email', 'log', 'dingtalk', 'wecom'));
ALTER TABLE contacts ADD COLUMN mobile text NOT NULL DEFAULT ''
    CHECK (mobile ~ '^(1[0-9]{10})?$');
ALTER TABLE contacts ADD COLUMN delivery text NOT NULL DEFAULT 'immediate'
    CHECK (delivery IN ('immediate', 'digest'));
CREATE INDEX contacts_digest_idx ON contacts (region_code) WHERE delivery = 'digest' AND deleted_at IS NULL;

ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_status_check;
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_status_check
    CHECK (status IN ('sending', 'delivered', 'failed', 'rejected', 'no_contact', 'digested'));

-- The digest reads a county's open deadlines by due date.
CREATE INDEX tasks_open_county_idx ON tasks (county_code) WHERE stage <> 'closed';

-- +goose Down
DROP INDEX tasks_open_county_idx;
DELETE FROM notification_deliveries WHERE status = 'digested';
ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_status_check;
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_status_check
    CHECK (status IN ('sending', 'delivered', 'failed', 'rejected', 'no_contact'));
DROP INDEX contacts_digest_idx;
ALTER TABLE contacts DROP COLUMN delivery;
ALTER TABLE contacts DROP COLUMN mobile;
UPDATE contacts SET deleted_at = now(), deleted_by = 'migration: chat channels removed', channel = 'log'
 WHERE channel IN ('dingtalk', 'wecom');
ALTER TABLE contacts DROP CONSTRAINT contacts_channel_check;
ALTER TABLE contacts ADD CONSTRAINT contacts_channel_check
    CHECK (channel IN ('webhook', 'email', 'log'));
