-- Security: one-shot callback JWTs, launch tokens, settings page sessions, and a grant identity
-- that does not depend on ciphertext (so stored secrets can be re-encrypted under a new key).

-- Every signed_payload_jwt a callback accepted, by its jti, remembered until the JWT expires: a
-- replay, to the same callback or another, is refused. Shared by every gateway replica.
CREATE TABLE callback_jwts_used (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX callback_jwts_used_expiry_idx ON callback_jwts_used (expires_at);

-- Bumped each time an auth callback stores a new token. A poller or writer compares it to know the
-- token it holds is still the channel's; `connector rotate-keys` re-encrypts without bumping it.
ALTER TABLE channels ADD COLUMN grant_generation bigint NOT NULL DEFAULT 0;

-- Single-use launch tokens (5 minutes) from Launch and the "App installed" link: Click & Drop
-- redeems one for the channel and the BigCommerce user who opened it. Only the SHA-256 is kept.
CREATE TABLE launch_tokens (
    token_sha256 bytea PRIMARY KEY,
    channel_id   uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id      bigint,
    user_email   text NOT NULL DEFAULT '',
    is_owner     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX launch_tokens_expiry_idx ON launch_tokens (expires_at);
CREATE INDEX launch_tokens_user_idx ON launch_tokens (channel_id, user_id);

-- Sessions of the gateway's own settings pages (the demo's stand-in for Click & Drop), each started
-- by a launch and bound to its channel and user. Only the SHA-256 of the cookie is kept.
CREATE TABLE settings_sessions (
    session_sha256 bytea PRIMARY KEY,
    channel_id     uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id        bigint,
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);

CREATE INDEX settings_sessions_expiry_idx ON settings_sessions (expires_at);
CREATE INDEX settings_sessions_user_idx ON settings_sessions (channel_id, user_id);
