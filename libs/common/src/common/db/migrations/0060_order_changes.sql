-- Finding changes to downloaded orders (OrderChanged): where each channel's next listing by
-- min_date_modified starts. (Whether a status move is ours reads despatches by channel and order,
-- despatches_channel_order_idx of 0050.)

-- One row per channel that has scanned; none (or one older than the order window) means the next
-- scan reads the whole window. Goes with its channel; the retention job deletes stale ones.
CREATE TABLE order_change_scans (
    channel_id    uuid PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    -- the next scan lists orders modified at or after this (BigCommerce's min_date_modified)
    scan_from     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
