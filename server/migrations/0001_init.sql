-- Portcullis store. Portable SQL (SQLite and PostgreSQL): TEXT, BIGINT, DOUBLE PRECISION only,
-- times as Unix milliseconds, ids chosen by the application (no AUTOINCREMENT / SERIAL).

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- one row per snapshot: the whole control, per recommendation and per subscription (JSON)
CREATE TABLE snapshots (
    taken_at        BIGINT PRIMARY KEY,
    source          TEXT NOT NULL,
    current_score   DOUBLE PRECISION NOT NULL,
    percentage      DOUBLE PRECISION NOT NULL,
    healthy         BIGINT NOT NULL,
    unhealthy       BIGINT NOT NULL,
    not_applicable  BIGINT NOT NULL,
    reachable       BIGINT NOT NULL,
    recommendations TEXT NOT NULL,
    subscriptions   TEXT NOT NULL,
    duration_ms     BIGINT NOT NULL
);

-- per-VM status of each snapshot
CREATE TABLE snapshot_vms (
    taken_at        BIGINT NOT NULL,
    vm_id           TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    recommendations TEXT NOT NULL,
    PRIMARY KEY (taken_at, vm_id)
);

-- events shown on the history chart (writes, and the demo's scripted timeline)
CREATE TABLE markers (
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    summary TEXT NOT NULL,
    actor   TEXT
);
CREATE INDEX markers_at ON markers (at);

-- append-only, hash-chained: hash = sha256(prev_hash || canonical JSON of the entry)
CREATE TABLE audit (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE TABLE jit_requests (
    id             BIGINT PRIMARY KEY,
    vm_id          TEXT NOT NULL,
    vm_name        TEXT NOT NULL,
    ports          TEXT NOT NULL,
    source_address TEXT NOT NULL,
    justification  TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    status         TEXT NOT NULL,
    message        TEXT
);
