-- Foundation schema: customers, services, users, audit log, data version.
-- Names follow the operation's export (id_cliente, data_limite, data_de_atendimento).

CREATE TABLE customers (
    id          bigint PRIMARY KEY CHECK (id > 0),          -- id_cliente
    nome        text,                                        -- NULL: stub created by a service load
    email       text,
    telefone    text CHECK (telefone ~ '^[0-9]{10,11}$'),
    is_stub     boolean GENERATED ALWAYS AS (nome IS NULL) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (nome IS NULL OR btrim(nome) <> ''),
    CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$')
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

CREATE TABLE services (
    id                   bigint PRIMARY KEY CHECK (id > 0),  -- id_atendimento
    id_cliente           bigint NOT NULL REFERENCES customers (id),
    angel                text NOT NULL CHECK (btrim(angel) <> ''),
    polo                 text NOT NULL CHECK (btrim(polo) <> ''),
    data_limite          date NOT NULL,                      -- deadline
    data_de_atendimento  timestamp,                          -- visit; NULL = not visited
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_id_cliente_idx ON services (id_cliente);

CREATE TABLE users (
    id              serial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username = lower(btrim(username)) AND username <> ''),
    name            text NOT NULL,
    email           text,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    active          boolean NOT NULL DEFAULT true,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz
);

-- Who did what: written in the same transaction as the change it describes.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    username    text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'load', 'login')),
    entity      text NOT NULL,
    entity_id   text,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

-- One row; every statement that writes data bumps it, so caches keyed on it see every change.
CREATE TABLE data_state (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL DEFAULT 0
);
INSERT INTO data_state DEFAULT VALUES;

CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_state SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER customers_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER services_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
