-- Channels (one per BigCommerce store) and the transactional outbox every publisher relays from.

CREATE TABLE channels (
    id                        uuid PRIMARY KEY,
    store_hash                text NOT NULL UNIQUE,
    status                    text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'active', 'reauthorization_required', 'disconnected')),
    store_name                text NOT NULL DEFAULT '',
    trading_name              text NOT NULL DEFAULT '',
    country                   text NOT NULL DEFAULT '',
    username                  text NOT NULL DEFAULT '',
    mark_orders_as_despatched boolean NOT NULL DEFAULT true,
    order_status_ids          integer[] NOT NULL DEFAULT '{9}',
    despatched_order_status   text NOT NULL DEFAULT 'completed'
        CHECK (despatched_order_status IN ('completed', 'shipped')),
    -- the OAuth grant; the token is Fernet ciphertext and is erased on disconnect
    access_token_encrypted    bytea,
    scope                     text NOT NULL DEFAULT '',
    account_uuid              text,
    owner_id                  bigint,
    owner_email               text,
    weight_units              text,
    plan_name                 text,
    -- sync health written by the poller and the writer
    last_download_at          timestamptz,
    next_download_at          timestamptz,
    last_writeback_at         timestamptz,
    last_error                text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    connected_at              timestamptz,
    disconnected_at           timestamptz
);

CREATE INDEX channels_status_idx ON channels (status);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    event_type   text NOT NULL,
    routing_key  text NOT NULL,
    body         text NOT NULL,  -- the exact JSON published
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- the relay reads only what is still unpublished, oldest first
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
