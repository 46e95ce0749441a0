"""Accounts: users kept in PostgreSQL, bcrypt hashes, roles, lockout, the first admin.

Roles, from least to most: viewer (reads dashboards and records), analyst (also loads files and
creates/edits records), admin (everything, user management). Core functions that write take an
`actor` and check its role themselves: the UI hiding a button is not a permission check.
"""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

import bcrypt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core import audit
from core.config import Settings

ROLES = ("viewer", "analyst", "admin")
ROLE_HELP = {
    "viewer": "reads dashboards and records",
    "analyst": "also loads files and creates or edits records",
    "admin": "everything, including deleting records and managing users",
}
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; bcrypt 5 raises beyond it


class AccountError(ValueError):
    """A user-management request that cannot be done; the message is for the user."""


class PermissionDenied(PermissionError):
    """The actor's role does not allow this action."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, or the CLI (acting as admin on the server)."""
    username: str
    role: str


CLI_ACTOR = Actor("cli", "admin")


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str | None
    role: str
    active: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


def can(actor: Actor | None, role: str) -> bool:
    """True when actor's role is at least `role`."""
    return actor is not None and actor.role in ROLES and ROLES.index(actor.role) >= ROLES.index(role)


def require(actor: Actor | None, role: str) -> None:
    """Raise PermissionDenied unless actor's role is at least `role`."""
    if not can(actor, role):
        raise PermissionDenied(f"This action needs the {role} role.")


# --- passwords -------------------------------------------------------------------------------

def check_password_rules(password: str) -> None:
    """Raise AccountError when the password cannot be used (plain-language reason)."""
    if password != password.strip():
        raise AccountError("The password must not start or end with a space.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AccountError(f"The password must be at most {MAX_PASSWORD_BYTES} bytes long.")


def hash_password(password: str, rounds: int = 12) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _password_matches(password: str, password_hash: str) -> bool:
    data = password.encode()
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(data, password_hash.encode())


@functools.cache
def _dummy_hash(rounds: int) -> str:
    """Checked when the username is unknown, so a wrong name costs the same as a wrong password."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds)).decode()


def generate_password() -> str:
    return secrets.token_urlsafe(15)


# --- users -----------------------------------------------------------------------------------

_USER_COLUMNS = ("username, name, email, role, active, failed_logins, locked_until, "
                 "created_at, last_login_at")


def _normalise_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not name:
        raise AccountError("The username is required.")
    if len(name) > 64 or any(ch.isspace() for ch in name):
        raise AccountError("The username must be one word of at most 64 characters.")
    return name


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(sa.text(f"SELECT {_USER_COLUMNS} FROM users WHERE username = :u"),
                       {"u": (username or "").strip().lower()}).mappings().first()
    return User(**row) if row else None


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(sa.text(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")).mappings()
    return [User(**r) for r in rows]


def count_users(conn: Connection) -> int:
    return conn.scalar(sa.text("SELECT count(*) FROM users"))


def _public(user: User | None) -> dict | None:
    """What the audit log keeps of a user (never the hash)."""
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "email": user.email,
            "role": user.role, "active": user.active}


def create_user(conn: Connection, *, actor: Actor | None, username: str, password: str,
                role: str = "viewer", name: str | None = None, email: str | None = None,
                rounds: int = 12) -> User:
    """Create a user. actor None is self-registration: only the viewer role is allowed."""
    if actor is None:
        if role != "viewer":
            raise PermissionDenied("Self-registration creates viewers only.")
    else:
        require(actor, "admin")
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    username = _normalise_username(username)
    email = (email or "").strip() or None
    if email and "@" not in email:
        raise AccountError("The email address is not valid.")
    password_hash = hash_password(password, rounds)
    exists = conn.scalar(sa.text("SELECT 1 FROM users WHERE username = :u"), {"u": username})
    if exists:
        raise AccountError(f"The username {username!r} is taken.")
    conn.execute(sa.text(
        "INSERT INTO users (username, name, email, password_hash, role) "
        "VALUES (:u, :n, :e, :h, :r)"),
        {"u": username, "n": (name or "").strip() or username, "e": email, "h": password_hash, "r": role})
    user = get_user(conn, username)
    audit.record(conn, username=actor.username if actor else username, action="create",
                 entity="user", entity_id=username, after=_public(user))
    return user


def _update_user(conn: Connection, actor: Actor, username: str, assignments: str, params: dict) -> User:
    require(actor, "admin")
    before = get_user(conn, username)
    if before is None:
        raise AccountError(f"There is no user {username!r}.")
    conn.execute(sa.text(f"UPDATE users SET {assignments} WHERE username = :username"),
                 {**params, "username": before.username})
    after = get_user(conn, before.username)
    audit.record(conn, username=actor.username, action="update", entity="user",
                 entity_id=before.username, before=_public(before), after=_public(after))
    return after


def _other_active_admins(conn: Connection, username: str) -> int:
    return conn.scalar(sa.text(
        "SELECT count(*) FROM users WHERE role = 'admin' AND active AND username <> :u"), {"u": username})


def set_role(conn: Connection, *, actor: Actor, username: str, role: str) -> User:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if role != "admin" and _other_active_admins(conn, username) == 0:
        raise AccountError("This is the last active admin: make another admin first.")
    return _update_user(conn, actor, username, "role = :role", {"role": role})


def set_active(conn: Connection, *, actor: Actor, username: str, active: bool) -> User:
    if not active and _other_active_admins(conn, username) == 0:
        raise AccountError("This is the last active admin: it cannot be deactivated.")
    return _update_user(conn, actor, username, "active = :active", {"active": active})


def reset_password(conn: Connection, *, actor: Actor, username: str, password: str,
                   rounds: int = 12) -> User:
    """Set a new password; also clears a lockout."""
    return _update_user(conn, actor, username,
                        "password_hash = :h, failed_logins = 0, locked_until = NULL",
                        {"h": hash_password(password, rounds)})


def verify_login(conn: Connection, username: str, password: str, *, settings: Settings) -> bool:
    """Check a login attempt; count failures and lock the account after too many.

    The answer is the same (False) for an unknown user, a wrong password, an inactive or a locked
    account, and costs one bcrypt check in every case, so nothing reveals whether a name exists.
    """
    name = (username or "").strip().lower()
    row = conn.execute(sa.text(
        "SELECT password_hash, active, locked_until > now() AS locked FROM users "
        "WHERE username = :u FOR UPDATE"), {"u": name}).mappings().first()
    if row is None:
        _password_matches(password or "", _dummy_hash(settings.password_hash_rounds))
        return False
    ok = _password_matches(password or "", row["password_hash"])
    if ok and row["active"] and not row["locked"]:
        conn.execute(sa.text("UPDATE users SET failed_logins = 0, locked_until = NULL, "
                             "last_login_at = now() WHERE username = :u"), {"u": name})
        return True
    if not row["locked"]:
        conn.execute(sa.text(
            "UPDATE users SET failed_logins = failed_logins + 1, "
            "locked_until = CASE WHEN failed_logins + 1 >= :max "
            "  THEN now() + make_interval(mins => :mins) END "
            "WHERE username = :u"),
            {"u": name, "max": settings.login_max_failures, "mins": settings.login_lock_minutes})
    return False


def ensure_admin(conn: Connection, settings: Settings) -> str | None:
    """Create the first admin when there are no users.

    Returns the generated password when ADMIN_PASSWORD was unset (to print once), else None.
    """
    conn.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    if count_users(conn):
        return None
    password = settings.admin_password or generate_password()
    create_user(conn, actor=CLI_ACTOR, username=settings.admin_username, password=password,
                role="admin", name="Administrator", rounds=settings.password_hash_rounds)
    return None if settings.admin_password else password
