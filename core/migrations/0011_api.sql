-- HTTP API: sessions that can be ended, API keys, and ids for records created without one.

-- Every API token carries the epoch its user had when it was issued; a password, role or active
-- change, or "log out everywhere", bumps it, and every older token stops working at once.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;

-- Keys for scripts and integrations. Only the SHA-256 of a key is kept: a key is 32 random bytes,
-- so a fast hash is enough (nothing to brute-force) and a lookup costs one index probe.
CREATE TABLE api_keys (
    id            serial PRIMARY KEY,
    name          text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 64),
    role          text NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    prefix        text NOT NULL,                       -- the key's first characters, shown in lists
    key_hash      text NOT NULL UNIQUE,                -- sha256 hex of the whole key
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
-- The audit log names a key's actions "key:<name>": two live keys must not share a name.
CREATE UNIQUE INDEX api_keys_active_name_key ON api_keys (name) WHERE revoked_at IS NULL;

-- The next free id of a service or customer created without one (core/records.py). Not a column
-- default: ids mostly come from the operation's files. A file load or an explicit id may overtake
-- a sequence; the create notices (it compares with max(id)) and moves it forward. Owned by the
-- id columns so TRUNCATE ... RESTART IDENTITY resets them with the tables.
CREATE SEQUENCE services_next_id_seq OWNED BY services.id;
CREATE SEQUENCE customers_next_id_seq OWNED BY customers.id;
SELECT setval('services_next_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL) FROM services;
SELECT setval('customers_next_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL) FROM customers;
