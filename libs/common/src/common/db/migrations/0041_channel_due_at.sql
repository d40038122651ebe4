-- When each channel is next claimable by a poller, kept by PostgreSQL itself (issue 12): due (its
-- window, NULL meaning due since forever, or its first waiting order request) and its poll lease run
-- out. The claim and the loop's "when is the next one" both read the partial index in order and stop
-- at the first rows, instead of scanning every active channel.
ALTER TABLE channels ADD COLUMN due_at timestamptz GENERATED ALWAYS AS (
    GREATEST(
        CASE WHEN next_download_at IS NULL THEN '-infinity'::timestamptz
             ELSE LEAST(next_download_at, orders_requested_at) END,
        poll_lease_until
    )
) STORED;

CREATE INDEX channels_claimable_idx ON channels (due_at, id)
 WHERE status = 'active' AND access_token_encrypted IS NOT NULL;

-- replaced by channels_claimable_idx
DROP INDEX channels_poll_due_idx;
