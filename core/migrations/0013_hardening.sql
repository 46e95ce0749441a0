-- Hardening (issue 12): dashboard sessions that end, a lockout that expires cleanly, failed logins
-- and lockouts in the audit log, a first admin who must choose their own password.

-- Failures count towards a lock within LOGIN_LOCK_MINUTES of the first one (failed_since), so a
-- client held below LOGIN_MAX_FAILURES per window by the throttle can never lock an account alone.
ALTER TABLE users ADD COLUMN failed_since timestamptz;
-- Set for the generated first admin: the dashboard asks for a new password before anything else.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- A dashboard login is one row: its cookie names the row (sid), and the row dies with a logout
-- (ended_at), its expiry, or the user's session epoch moving on. A copied cookie ends with it.
CREATE TABLE dashboard_sessions (
    sid         text PRIMARY KEY,                     -- random, 32 bytes url-safe
    user_id     integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    epoch       integer NOT NULL,                     -- users.session_epoch at login
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);

ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('create', 'update', 'delete', 'load', 'login', 'login_failed', 'lockout', 'logout'));
