-- Accounts, third round (issues 20 and 21): a login throttle every process shares, one table of
-- sessions for the dashboard and the API (an API logout, an idle timeout for the dashboard), API
-- keys that expire.

-- One row per counted attempt (a login, a check of a current password, a registration) in the
-- bucket it counts in. A bucket is the SHA-256 of its name (the client's address, with the username
-- for the per-account budget): its size never grows with what a client sends. Rows older than the
-- longest window are deleted as attempts come (core/throttle.py). Counting here, under a lock per
-- address, makes concurrent attempts wait their turn, and the dashboard and every API process
-- share one count.
CREATE TABLE login_attempts (
    id      bigserial PRIMARY KEY,
    bucket  bytea NOT NULL CHECK (octet_length(bucket) = 32),
    at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_attempts_bucket_idx ON login_attempts (bucket, at);
CREATE INDEX login_attempts_at_idx ON login_attempts (at);

-- A login of either front end is one row. An API session's tokens name it (sid): an API logout
-- ends the session, its access and refresh tokens with it. (The refresh token works until then, as
-- the original API's did, so its clients that keep one for the session go on working.) A dashboard session also ends after
-- AUTH_IDLE_MINUTES without a page run (last_seen_at, written at most once a minute).
ALTER TABLE dashboard_sessions RENAME TO sessions;
ALTER INDEX dashboard_sessions_expires_idx RENAME TO sessions_expires_idx;
ALTER TABLE sessions ADD COLUMN kind text NOT NULL DEFAULT 'dashboard' CHECK (kind IN ('dashboard', 'api'));
ALTER TABLE sessions ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- A key may be given an end; NULL: it works until revoked.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
