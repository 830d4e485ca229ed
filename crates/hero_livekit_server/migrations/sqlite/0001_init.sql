-- API keys and their lifecycle (design §8). Secrets live only here and in the 0600 files
-- rendered from here.
CREATE TABLE keys (
    api_key      TEXT PRIMARY KEY NOT NULL,
    secret       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired', 'revoked')),
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    retire_at    INTEGER,
    revoked_at   INTEGER,
    grace_s      INTEGER
);

-- Other generated secrets: the backend bearers and the config canary's secret.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Every mutating RPC call, params redacted.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    method   TEXT NOT NULL,
    peer_uid INTEGER,
    peer_pid INTEGER,
    params   TEXT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
