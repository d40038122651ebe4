-- One lease table for every "one replica at a time" rule (common.leases), with fencing: each
-- acquisition takes a new token from the sequence, and the writes that matter check, in the same
-- statement, that their token still holds an unexpired lease. A replica that stalled past its
-- lease (and was taken over) therefore writes nothing more when it wakes.
CREATE SEQUENCE lease_fencing_tokens;

CREATE TABLE leases (
    scope      text NOT NULL,          -- what is leased, e.g. 'status-writer:flush'
    key        uuid NOT NULL,          -- which one, e.g. the channel
    holder     text NOT NULL,          -- the replica (host:pid:random)
    token      bigint NOT NULL UNIQUE, -- the fencing token of this acquisition
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- status_writer_leases is no longer read or written (the writer uses `leases`); it is dropped by a
-- later release, so pods of the previous release can still start during the rollout.
