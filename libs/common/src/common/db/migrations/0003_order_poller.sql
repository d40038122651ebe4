-- The order poller: per-channel poll leases, the orders already downloaded and the orders skipped (with why).

-- A replica polls a channel only while it holds the lease; an expired lease is claimable again,
-- so a replica that dies forgets no store.
ALTER TABLE channels ADD COLUMN poll_lease_owner text;
ALTER TABLE channels ADD COLUMN poll_lease_until timestamptz;

-- the claim reads active channels by due time
CREATE INDEX channels_poll_due_idx ON channels (next_download_at NULLS FIRST) WHERE status = 'active';

-- One row per order ever published, written in the same transaction as its outbox event.
-- Keyed on the store (not the channel row): a reinstall, even one that made a new channel row,
-- never publishes an order again. No foreign key, so deleting a channel keeps this memory.
CREATE TABLE downloaded_orders (
    store_hash    text NOT NULL,
    order_id      bigint NOT NULL,
    channel_id    uuid NOT NULL,
    event_id      uuid NOT NULL,
    date_modified timestamptz NOT NULL,
    downloaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_hash, order_id)
);

-- Orders in the window that were not published, with the reason. `final` reasons (digital, archived,
-- nothing physical) are not fetched again until the order's date_modified changes; the others are
-- retried on every poll. A row is deleted when its order is downloaded after all.
CREATE TABLE skipped_orders (
    store_hash    text NOT NULL,
    order_id      bigint NOT NULL,
    channel_id    uuid NOT NULL,
    reason        text NOT NULL,
    detail        text NOT NULL DEFAULT '',
    final         boolean NOT NULL,
    date_modified timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_hash, order_id)
);

-- Sync health counts per channel, for the gateway's channel view and operators (the primary keys
-- serve the per-store lookups).
CREATE VIEW channel_order_counts AS
SELECT c.id AS channel_id,
       (SELECT count(*) FROM downloaded_orders d WHERE d.store_hash = c.store_hash) AS downloaded_orders,
       (SELECT count(*) FROM skipped_orders s WHERE s.store_hash = c.store_hash) AS skipped_orders,
       COALESCE(
           (SELECT jsonb_object_agg(r.reason, r.n)
              FROM (SELECT reason, count(*) AS n
                      FROM skipped_orders s
                     WHERE s.store_hash = c.store_hash
                     GROUP BY reason) r),
           '{}'::jsonb
       ) AS skipped_by_reason
  FROM channels c;
