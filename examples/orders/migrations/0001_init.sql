-- The demo's whole schema. Principals live in three tables, one per caller
-- kind, so a name can never be read as the wrong kind of principal.

CREATE TABLE users (
    name          TEXT PRIMARY KEY NOT NULL,
    tenant        TEXT NOT NULL,
    roles         TEXT NOT NULL,          -- JSON array of role names
    password_hash TEXT NOT NULL           -- argon2id PHC string
) STRICT;

CREATE TABLE service_accounts (
    name   TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    scopes TEXT NOT NULL                  -- JSON array of permission patterns
) STRICT;

CREATE TABLE agents (
    name      TEXT PRIMARY KEY NOT NULL,
    tenant    TEXT NOT NULL,
    user_name TEXT NOT NULL REFERENCES users(name),
    scopes    TEXT NOT NULL               -- JSON array of permission patterns
) STRICT;

-- API keys and agent tokens, by the SHA-256 of the secret: a dump of this
-- table holds no usable credential.
CREATE TABLE credentials (
    secret_hash   TEXT PRIMARY KEY NOT NULL,
    credential_id TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('service', 'agent')),
    name          TEXT NOT NULL
) STRICT;
CREATE INDEX credentials_by_id ON credentials(credential_id);

-- Sessions, by the SHA-256 of the cookie value. A revoked session keeps its
-- row (revoked = 1) until it expires, so a late write cannot bring it back.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    principal_id TEXT NOT NULL,
    record       TEXT NOT NULL,            -- guard_runtime::authn::SessionRecord as JSON
    expires_at   INTEGER NOT NULL,         -- unix seconds
    revoked      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sessions_by_principal ON sessions(principal_id);

CREATE TABLE orders (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant   TEXT NOT NULL,
    owner    TEXT NOT NULL,
    item     TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    address  TEXT NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('new', 'cancelled', 'captured'))
) STRICT;
CREATE INDEX orders_by_tenant_owner ON orders(tenant, owner);
