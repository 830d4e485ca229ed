-- The durable webhook inbox. One row per verified event; `event_id` is LiveKit's `id`
-- (or a hash of the body when absent), unique so retried deliveries are stored once.
CREATE TABLE events (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id             TEXT    NOT NULL UNIQUE,
    event                TEXT    NOT NULL,
    room_name            TEXT,
    room_sid             TEXT,
    participant_identity TEXT,
    participant_sid      TEXT,
    -- Unix seconds: `createdAt` of the event (received_at when absent) and our receipt time.
    created_at           INTEGER NOT NULL,
    received_at          INTEGER NOT NULL,
    -- API key whose secret verified the signature (the JWT `iss`); never the secret.
    signing_key          TEXT    NOT NULL,
    body                 BLOB    NOT NULL
);
CREATE INDEX events_room_created ON events (room_name, created_at);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_received ON events (received_at);
