"""The poller's SQL: channel claims and leases, and the orders it downloaded or skipped."""
