-- API keys: bearer tokens for people and systems that do not sign in through
-- single sign-on. Only the SHA-256 of a token is kept; the token itself is
-- shown once, when `spotcheck token create` makes it.

-- +goose Up
CREATE TABLE api_keys (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL DEFAULT '' CHECK (length(name) <= 200 AND name !~ '[\t\r\n]'),
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The token's first characters, so that a holder can tell which key is theirs.
    prefix          text NOT NULL CHECK (prefix ~ '^sc_[A-Za-z0-9_-]{1,16}$'),
    role            text NOT NULL CHECK (role IN ('admin', 'coordinator', 'department_officer', 'county_officer', 'inspector', 'auditor')),
    county_code     text REFERENCES regions (code),
    department_code text REFERENCES departments (code),
    -- Not a foreign key: an inspector leaving the directory must not be
    -- blocked by a key; revoke the key instead.
    inspector_key   text CHECK (inspector_key <> ''),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL CHECK (created_by <> ''),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    revoked_by      text,
    -- Each scope belongs to exactly one role.
    CHECK ((county_code IS NOT NULL) = (role = 'county_officer')),
    CHECK ((department_code IS NOT NULL) = (role = 'department_officer')),
    CHECK ((inspector_key IS NOT NULL) = (role = 'inspector')),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- +goose Down
DROP TABLE api_keys;
