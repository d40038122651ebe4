-- Per-order download requests (issue 12): a status webhook whose new status is one the channel
-- downloads asks for that one order, and the poller fetches just it (GET /v2/orders/{id}) under the
-- store's poll lease, instead of reading the store's whole window again. One row per order: a burst of
-- deliveries for one order is one fetch. Written in the same transaction as the delivery's dedupe row.
CREATE TABLE order_download_requests (
    channel_id   uuid        NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    order_id     bigint      NOT NULL CHECK (order_id > 0),
    -- moved on by a repeated request: the poller deletes only the request it served
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, order_id)
);

-- Set with every request: the claim sees a channel with requests waiting from its own row.
ALTER TABLE channels ADD COLUMN orders_requested_at timestamptz;
