-- 工作台 (the console): people sign in with a local account (username and
-- an argon2id password hash) or through single sign-on, and hold a
-- session behind a cookie. A session is a credential of the same kind as
-- an API key: the API and the pages get the same Principal from it.

-- +goose Up
CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{2,64}$'),
    display_name    text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100 AND display_name !~ '[\t\r\n]'),
    -- PHC string of argon2id; NULL for an account that signs in only by
    -- single sign-on.
    password_hash   text CHECK (password_hash LIKE '$argon2id$%'),
    -- The provider's issuer and subject of a single sign-on account.
    oidc_issuer     text,
    oidc_subject    text,
    role            text NOT NULL CHECK (role IN ('admin', 'coordinator', 'department_officer', 'county_officer', 'inspector', 'auditor')),
    county_code     text REFERENCES regions (code),
    department_code text REFERENCES departments (code),
    inspector_key   text CHECK (inspector_key <> ''),
    -- Consecutive failed sign-ins; reset by a good one. At the limit the
    -- account is locked until locked_until.
    failed_signins  integer NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
    locked_until    timestamptz,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL CHECK (created_by <> ''),
    UNIQUE (oidc_issuer, oidc_subject),
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
    CHECK (password_hash IS NOT NULL OR oidc_subject IS NOT NULL)
);

CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    -- SHA-256 of the cookie's token: a stolen table opens no session.
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The CSRF token of the session's forms (synchroniser token); not a
    -- secret from the session's holder, so kept in clear.
    csrf_token    text NOT NULL CHECK (length(csrf_token) >= 32),
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- How the session was opened: password or oidc.
    method        text NOT NULL CHECK (method IN ('password', 'oidc')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    -- The absolute timeout: no session outlives it, however active.
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    remote_addr   text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500)
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE ended_at IS NULL;

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
