-- The status writer: despatches received from Click & Drop, their write-back state, and per-store flush leases.

CREATE TABLE despatches (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL UNIQUE,
    channel_id       uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    store_hash       text NOT NULL,
    order_id         bigint NOT NULL,
    -- the consignment (shipping address); NULL = the order's own grouping by address
    order_address_id bigint,
    -- [{"order_product_id": n, "quantity": n}]; NULL = every physical item not yet shipped
    items            jsonb,
    tracking_number  text,
    carrier          text NOT NULL DEFAULT 'Royal Mail',
    service_name     text,
    despatched_at    timestamptz NOT NULL,
    -- store, order, consignment, items and tracking number (CONTRACT §5): a repeat under any event_id is one row
    dedupe_key       text NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'posting', 'written', 'failed', 'not_written')),
    reason           text,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- the exact shipment request bodies (a list), recorded before the POST ('posting'): after a crash
    -- or a lost response the next flush matches them against the order's shipments instead of posting again
    request          jsonb,
    shipment_ids     bigint[] NOT NULL DEFAULT '{}',
    written_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_hash, dedupe_key)
);

-- the gateway lists a channel's despatches by state
CREATE INDEX despatches_channel_state_idx ON despatches (channel_id, state, created_at);
-- the flush reads only what is still to be written
CREATE INDEX despatches_due_idx ON despatches (channel_id, next_attempt_at)
    WHERE state IN ('pending', 'posting');

-- One writer replica flushes a store at a time; an expired lease is taken over.
CREATE TABLE status_writer_leases (
    channel_id uuid PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
