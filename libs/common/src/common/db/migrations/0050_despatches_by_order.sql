-- The writer plans an order's write-back from what it already wrote for that order (its written
-- despatches' requests), and the merchant's Retry moves an order's failed despatches: both read
-- despatches by order.
CREATE INDEX despatches_channel_order_idx ON despatches (channel_id, order_id);
