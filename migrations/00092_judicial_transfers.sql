-- 移送司法机关: a result can mark its problems as a suspected crime; the
-- county then records the transfer to the judicial organs (which organ, on
-- which day, under which document number) within the batch policy's
-- limit, or the lapse goes to the accountability ledger (seed 三(二):
-- 未对抽查检查中发现的涉嫌犯罪案件依法移送).

-- +goose Up
ALTER TABLE results ADD COLUMN suspected_crime boolean NOT NULL DEFAULT false;

CREATE TABLE judicial_transfers (
    batch_id        text NOT NULL,
    object_key      text NOT NULL,
    organ           text NOT NULL CHECK (organ <> '' AND length(organ) <= 200),
    transferred_on  date NOT NULL,
    document_no     text NOT NULL CHECK (document_no <> '' AND length(document_no) <= 100),
    entered_by      text NOT NULL,
    entered_at      timestamptz NOT NULL,
    PRIMARY KEY (batch_id, object_key)
);

-- +goose Down
DROP TABLE judicial_transfers;
ALTER TABLE results DROP COLUMN suspected_crime;
