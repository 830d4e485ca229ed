-- API keys and their lifecycle (design §8). Secrets live only here and in the 0600 files
-- rendered from here. Times are unix seconds.
CREATE TABLE keys (
    api_key      TEXT PRIMARY KEY NOT NULL,
    secret       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired', 'revoked')),
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retire_at    BIGINT,
    revoked_at   BIGINT,
    grace_s      BIGINT
);

-- Other generated secrets: the backend bearers and the config canary's secret.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Every mutating RPC call, params redacted.
CREATE TABLE audit (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    method   TEXT NOT NULL,
    peer_uid BIGINT,
    peer_pid BIGINT,
    params   TEXT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
