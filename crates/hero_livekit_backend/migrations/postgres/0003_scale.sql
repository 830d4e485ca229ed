-- The events store at ten million rows (design.md §6.4): an index for every filter of
-- /api/events and /api/sessions in the order they page (keyset on seq), and rollups the chart
-- series read instead of scanning events. Rollups are maintained in the transaction that
-- stores the event, so they never disagree with it; they start empty on an upgraded database.
DROP INDEX IF EXISTS events_room_created;
CREATE INDEX events_room_seq ON events (room_name, seq);
CREATE INDEX events_event_seq ON events (event, seq);

-- Participants in a room right now (joined, not yet left): a join adds a row, a leave or the
-- room's end removes it and closes a session. Small: only who is present.
CREATE TABLE open_participants (
    room_name TEXT    NOT NULL,
    identity  TEXT    NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_name, identity)
);

-- Concurrent participants: per room ('' = all rooms) and minute (Unix seconds of its start),
-- the change in that minute and the running total at its end, so a point of the series is one
-- index seek instead of a sum from the beginning of time.
CREATE TABLE presence (
    room_name TEXT    NOT NULL,
    minute    BIGINT NOT NULL,
    delta     BIGINT NOT NULL,
    level     BIGINT NOT NULL,
    PRIMARY KEY (room_name, minute)
);

-- Seconds of closed participant sessions, split over the UTC days they span.
CREATE TABLE usage_day (
    day     BIGINT PRIMARY KEY,
    seconds BIGINT NOT NULL
);

-- Closed participant sessions per hour (of their end) and duration bucket.
CREATE TABLE session_hour (
    hour     BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,
    sessions BIGINT NOT NULL,
    PRIMARY KEY (hour, bucket)
);

-- Webhook deliveries per minute and per hour (of receipt): stored, duplicates, forgeries.
CREATE TABLE webhook_minute (
    minute     BIGINT PRIMARY KEY,
    stored     BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    forgeries  BIGINT NOT NULL
);
CREATE TABLE webhook_hour (
    hour       BIGINT PRIMARY KEY,
    stored     BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    forgeries  BIGINT NOT NULL
);

-- Retention pruning walks the rollups oldest first.
CREATE INDEX presence_minute ON presence (minute);
