"""The status writer's own SQL: flush leases and the state moves of despatches."""
