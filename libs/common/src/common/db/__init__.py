"""PostgreSQL access: the pool, migrations and the aggregates the services share."""
