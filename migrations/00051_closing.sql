-- The end of a batch: its public summary (结果公示) and its sealed archive
-- (数据存档). Archive rows are written once and never changed.

-- +goose Up
CREATE TABLE batch_summaries (
    batch_id     text PRIMARY KEY REFERENCES batches (id),
    summary      jsonb NOT NULL,
    published_at timestamptz NOT NULL
);

CREATE TABLE batch_archives (
    batch_id        text PRIMARY KEY REFERENCES batches (id),
    manifest        text NOT NULL,              -- manifest.json exactly as hashed
    manifest_sha256 text NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
    sealed_at       timestamptz NOT NULL
);

CREATE TABLE batch_archive_files (
    batch_id text NOT NULL REFERENCES batch_archives (batch_id),
    name     text NOT NULL,
    sha256   text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes    bigint NOT NULL,
    content  bytea NOT NULL,
    PRIMARY KEY (batch_id, name)
);

-- +goose StatementBegin
CREATE FUNCTION archive_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the archive of a batch is sealed and cannot be changed'
        USING ERRCODE = 'check_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER batch_archives_sealed BEFORE UPDATE OR DELETE ON batch_archives
    FOR EACH ROW EXECUTE FUNCTION archive_sealed();
CREATE TRIGGER batch_archive_files_sealed BEFORE UPDATE OR DELETE ON batch_archive_files
    FOR EACH ROW EXECUTE FUNCTION archive_sealed();

-- +goose Down
DROP TABLE batch_archive_files;
DROP TABLE batch_archives;
DROP TABLE batch_summaries;
DROP FUNCTION archive_sealed();
