-- The recordings catalogue: one row per egress, built from the egress_started, egress_updated
-- and egress_ended webhooks. LiveKit forgets a finished egress 24 h after it ends; this row is
-- kept until the operator sets a retention (EGRESS_RETENTION_DAYS).
CREATE TABLE egress (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    egress_id    TEXT    NOT NULL UNIQUE,
    room_name    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    -- LiveKit's status number: 0-2 running, 3 and above finished.
    status_rank  INTEGER NOT NULL,
    -- Unix seconds: when it was asked for (its first state), began recording, ended.
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    -- EgressInfo.updated_at in nanoseconds: an older webhook never overwrites a newer state.
    updated_ns   INTEGER NOT NULL,
    -- The egress as the API shows it (JSON): outputs, sizes, locations, error.
    info         TEXT    NOT NULL
);
CREATE INDEX egress_room ON egress (room_name, seq);
CREATE INDEX egress_status ON egress (status, seq);
CREATE INDEX egress_created ON egress (created_at);
CREATE INDEX egress_ended ON egress (ended_at);
