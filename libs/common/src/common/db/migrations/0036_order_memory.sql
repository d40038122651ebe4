-- What the connector remembers of each downloaded order (common.order_memory): the status and, per
-- consignment, an address digest and the units to ship, as last seen. Read to announce changes
-- (OrderChanged) and to plan write-backs without asking BigCommerce again. NULL on rows written before.
ALTER TABLE downloaded_orders ADD COLUMN status_id integer;
ALTER TABLE downloaded_orders ADD COLUMN consignments jsonb;
