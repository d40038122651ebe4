"""The gateway's writes to the shared schema: grants, channel settings and lifecycle, users, webhook hashes."""
