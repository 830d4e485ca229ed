-- One revision counter for everything the files are rendered from: every committed change
-- raises it, so every instance knows when to re-render.
CREATE TABLE config_revision (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO config_revision (id, rev) VALUES (1, 0);

-- Every control plane sharing this database (one, on SQLite), and what it last rendered.
CREATE TABLE instances (
    instance_id    TEXT PRIMARY KEY NOT NULL,
    host           TEXT NOT NULL,
    home           TEXT NOT NULL,
    node_ip        TEXT,
    rendered_rev   INTEGER NOT NULL,
    cluster_sha256 TEXT NOT NULL,
    rendered_at    INTEGER NOT NULL,
    seen_at        INTEGER NOT NULL
);
