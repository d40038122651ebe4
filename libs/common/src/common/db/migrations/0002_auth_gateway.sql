-- The auth gateway: per-store webhook secrets, activation history, channel users and seen webhook hashes.

-- The secret BigCommerce sends back on every webhook delivery: Fernet ciphertext (to register the hook
-- header again) and its SHA-256 (to check a delivery without decrypting anything).
ALTER TABLE channels ADD COLUMN webhook_secret_encrypted bytea;
ALTER TABLE channels ADD COLUMN webhook_secret_sha256 bytea;
-- Set on the first activation and never cleared: a reconnected channel that was active before
-- returns to 'active', one that never was returns to 'pending'.
ALTER TABLE channels ADD COLUMN activated_at timestamptz;

-- Control-panel users who installed or opened the app (auth and load callbacks); remove-user forgets one.
CREATE TABLE channel_users (
    channel_id   uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL,
    email        text NOT NULL DEFAULT '',
    username     text NOT NULL DEFAULT '',
    is_owner     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);

-- Webhook deliveries already accepted, by BigCommerce's payload `hash`: BigCommerce retries and
-- duplicates deliveries, so each one triggers a download at most once while it is remembered.
CREATE TABLE webhook_deliveries_seen (
    store_hash  text NOT NULL,
    hash        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (store_hash, hash)
);

CREATE INDEX webhook_deliveries_seen_expiry_idx ON webhook_deliveries_seen (expires_at);
