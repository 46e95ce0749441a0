"""Accounts: users kept in PostgreSQL, bcrypt hashes, roles, lockout, the first admin.

Roles, from least to most: viewer (reads dashboards and records), analyst (also loads files and
creates/edits records), admin (everything, user management). Core functions that write take an
`actor` and check its role themselves: the UI hiding a button is not a permission check.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import bcrypt
import sqlalchemy as sa
from zxcvbn import zxcvbn
from sqlalchemy.engine import Connection, Engine

from core import audit, contact, text, throttle
from core.config import LANGUAGES, WELL_KNOWN_SECRETS, ConfigError, Settings
from core.messages import N_, Text, TextError

log = logging.getLogger(__name__)

ROLES = ("viewer", "analyst", "admin")
ROLE_HELP = {
    "viewer": N_("reads dashboards and records"),
    "analyst": N_("also loads files and creates or edits records"),
    "admin": N_("everything, including deleting records and managing users"),
}
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; bcrypt 5 raises beyond it
MAX_USERNAME_LENGTH = 32
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = text.LIMITS["email"]  # one limit for every email (core.text)
USERNAME_RULE = re.compile(rf"[a-z0-9._-]{{3,{MAX_USERNAME_LENGTH}}}")
USERNAME_HELP = N_("3-32 characters: lower-case letters, digits, dot, dash or underscore")
# Names the product itself writes in the audit log or that read as the system's own.
RESERVED_USERNAMES = frozenset({
    "cli", "system", "root", "api", "key", "keys", "anonymous", "unknown", "guest", "null", "none",
    "postgres", "logistics", "administrator", "superuser", "support", "daemon", "service",
})
# Passwords that lists of leaked passwords start with, and this product's own placeholders. A
# password equal to one of them (ignoring case), to the username, or made of one repeated character
# or a plain keyboard or digit run, is refused for every account, the first admin's included.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword",
    "12345678", "123456789", "1234567890", "0123456789", "87654321", "11111111", "00000000",
    "12341234", "11223344", "123123123", "qwertyui", "qwertyuiop", "qwerty123", "qwerty12",
    "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "zaq12wsx", "asdfghjk", "asdfasdf", "zxcvbnm1",
    "abcdefgh", "abcd1234", "abc12345", "iloveyou", "sunshine", "princess", "football",
    "baseball", "whatever", "trustno1", "superman", "starwars", "letmein1", "welcome1", "welcome123",
    "admin123", "admin1234", "administrator", "changeme", "change-me", "changeit", "change_me",
    "secret123", "letmein!", "master123", "computer", "internet", "dragon123", "monkey123",
    "senha123", "senha1234", "mudar123", "mudar@123", "brasil123", "logistics", "logistica",
    "greenangel", "green-angel", "not-a-real-password",
}) | {s for s in WELL_KNOWN_SECRETS if len(s) >= MIN_PASSWORD_LENGTH}
_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")
# Beyond those lists, zxcvbn estimates how many guesses a password takes (its dictionaries of common
# passwords, names and words, dates, keyboard patterns, repeats, l33t); its score 0-4 says under 1e3,
# 1e6, 1e8, 1e10 guesses or more. Below 2 (a million guesses or fewer) is refused: with the lockout and
# the throttle that is what an online attack could try; words of this product count as guessable too.
MIN_PASSWORD_SCORE = 2
_PRODUCT_WORDS = ["logistics", "logistica", "indicators", "indicadores", "green", "angel", "polo", "sla"]
# zxcvbn keeps each call's user_inputs in a module-wide dictionary: two threads (the API's pool,
# Streamlit's sessions) checking at once would score one password against the other's username.
_ZXCVBN = threading.Lock()


class AccountError(TextError, ValueError):
    """A user-management request that cannot be done; the message is for the user (str() English,
    `text` in the user's language: core.messages.TextError)."""


class UsernameTaken(AccountError):
    """Another account has this username."""

    http_status = 409


class PermissionDenied(TextError, PermissionError):
    """The actor's role does not allow this action (a TextError, as AccountError)."""

    http_status = 403


class LoginFailed(AccountError):
    """A password that did not prove who the user is: wrong, or an unknown name, or an account that is
    locked or deactivated (one answer for all, so nothing tells them apart)."""

    http_status = 401


class PasswordChangeRequired(PermissionDenied):
    """The password was right, but it was generated on the first start: the user must choose their
    own before anything else (the dashboard asks for it; the API refuses tokens until then)."""


# The one answer to a login that failed, whatever the reason (the dashboard translates it).
LOGIN_FAILED = N_("Wrong username or password, or the account is locked or deactivated. After too many "
                  "failures an account locks for a while; an admin can unlock it.")
CURRENT_PASSWORD_WRONG = N_("The current password is not right, or the account is locked or deactivated.")
MUST_CHANGE_PASSWORD = N_("This account's password was generated on the first start: choose your own first "
                          "(POST /v1/auth/password with the current and a new password, or log in to the "
                          "dashboard).")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, or the CLI (acting as admin on the server)."""
    username: str
    role: str


CLI_ACTOR = Actor("cli", "admin")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str
    email: str | None
    role: str
    active: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    session_epoch: int  # bumped to end every session and API token of the user (see end_sessions)
    must_change_password: bool = False  # the generated first admin: asked for a new one first
    language: str | None = None  # the dashboard language they chose; None: the LANGUAGE setting

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


def can(actor: Actor | None, role: str) -> bool:
    """True when actor's role is at least `role`."""
    return actor is not None and actor.role in ROLES and ROLES.index(actor.role) >= ROLES.index(role)


def require(actor: Actor | None, role: str) -> None:
    """Raise PermissionDenied unless actor's role is at least `role`."""
    if not can(actor, role):
        raise PermissionDenied(N_("This action needs the {role} role."), role=role)


# --- passwords -------------------------------------------------------------------------------

def check_password_rules(password: str, *, username: str | None = None) -> None:
    """Raise AccountError when the password cannot be used (plain-language reason).

    Beyond the length: no well-known password, not the username (with or without digits or
    punctuation around it), not one repeated character or a plain run such as 12345678 or abcdefgh,
    and nothing zxcvbn rates below MIN_PASSWORD_SCORE.
    """
    if password != password.strip():
        raise AccountError(N_("The password must not start or end with a space."))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("The password needs at least {n} characters."), n=MIN_PASSWORD_LENGTH)
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AccountError(N_("The password must be at most {n} bytes long."), n=MAX_PASSWORD_BYTES)
    lowered = password.lower()
    letters = re.sub(r"[^a-z]", "", lowered)
    name = (username or "").strip().lower()
    if name and (lowered == name or lowered.strip("0123456789!@#$%&*._- ") == name
                 or (letters and letters == re.sub(r"[^a-z]", "", name))):
        raise AccountError(N_("The password must not be the username."))
    if (lowered in COMMON_PASSWORDS or len(set(lowered)) == 1
            or any(lowered in run or lowered in run[::-1] for run in _RUNS)):
        raise AccountError(N_("This password is too common (it is on the lists attackers try first); "
                              "choose another, e.g. a few unrelated words."))
    with _ZXCVBN:
        score = zxcvbn(password, user_inputs=[name, *_PRODUCT_WORDS] if name else _PRODUCT_WORDS)["score"]
    if score < MIN_PASSWORD_SCORE:
        raise AccountError(N_("This password is too easy to guess (a common word or name with a few digits, a "
                              "date, a keyboard pattern...); choose a longer one, e.g. a few unrelated words."))


def hash_password(password: str, *, rounds: int) -> str:
    """The stored hash of a password its caller has checked (check_password_rules, with the username:
    create_user, reset_password, change_own_password each do first)."""
    return _bcrypt(password, rounds)


def _bcrypt(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode("utf-8", "surrogatepass"), bcrypt.gensalt(rounds)).decode()


def _password_matches(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8", "surrogatepass")
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(data, password_hash.encode())


def hash_cost(password_hash: str) -> int | None:
    """The bcrypt cost a hash was made with ('$2b$12$...' -> 12); None when it is no bcrypt hash."""
    match = re.match(r"\$2[abxy]?\$(\d\d)\$", password_hash or "")
    return int(match.group(1)) if match else None


def dummy_hash_cost(conn: Connection, *, settings: Settings) -> int:
    """The cost an unknown name's check is paid at: the one most stored hashes have (PASSWORD_HASH_ROUNDS
    when there are none), so that a wrong name costs what a wrong password of most accounts does,
    also after PASSWORD_HASH_ROUNDS changed (hashes move to the new cost as their users log in)."""
    cost = conn.scalar(sa.text(
        "SELECT substring(password_hash FROM '^\\$2[abxy]?\\$([0-9][0-9])\\$')::int AS cost FROM users "
        "GROUP BY 1 ORDER BY count(*) DESC, cost DESC NULLS LAST LIMIT 1"))
    return cost or settings.password_hash_rounds


@functools.cache
def _dummy_hash(rounds: int) -> str:
    """Checked when the username is unknown, so a wrong name costs the same as a wrong password."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds)).decode()


def generate_password() -> str:
    return secrets.token_urlsafe(15)


# --- users -----------------------------------------------------------------------------------

_USER_COLUMNS = ("id, username, name, email, role, active, failed_logins, locked_until, "
                 "created_at, last_login_at, session_epoch, must_change_password, language")


def _normalise_username(username: str) -> str:
    """The username to store for a new account: lower-case, USERNAME_RULE, not reserved."""
    name = (username or "").strip().lower()
    if not name:
        raise AccountError(N_("The username is required."))
    if not USERNAME_RULE.fullmatch(name):
        raise AccountError(N_("The username must be {rule}."), rule=Text(USERNAME_HELP))
    if name in RESERVED_USERNAMES:
        raise AccountError(N_("The username {name!r} is reserved for the system; choose another."), name=name)
    return name


def get_user(conn: Connection, *, username: str) -> User | None:
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
                rounds: int, must_change_password: bool = False) -> User:
    """Create a user. actor None is self-registration: only the viewer role is allowed.

    A taken username raises UsernameTaken only after the password was hashed, so the answer to a
    taken name costs as long as a successful signup."""
    if actor is None:
        if role != "viewer":
            raise PermissionDenied(N_("Self-registration creates viewers only."))
    else:
        require(actor, "admin")
    if role not in ROLES:
        raise AccountError(N_("Unknown role {role!r}: choose one of {choices}."), role=role, choices=", ".join(ROLES))
    username = _normalise_username(username)
    name = (name or "").strip()
    for what, value in ((N_("name"), name), (N_("email"), email)):
        try:
            text.check(value, what=what)
        except text.TextRefused as exc:
            raise AccountError(exc.template, **exc.values) from None
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(N_("The name must be at most {n} characters long."), n=MAX_NAME_LENGTH)
    if email is not None and len(email.strip()) > MAX_EMAIL_LENGTH:
        raise AccountError(N_("The email must be at most {n} characters long."), n=MAX_EMAIL_LENGTH)
    try:
        email = contact.clean_email(email)
    except contact.ContactError as exc:
        raise AccountError(exc.template, **exc.values) from None
    check_password_rules(password, username=username)
    password_hash = hash_password(password, rounds=rounds)
    exists = conn.scalar(sa.text("SELECT 1 FROM users WHERE username = :u"), {"u": username})
    if exists:
        raise UsernameTaken(N_("The username {username!r} is taken."), username=username)
    conn.execute(sa.text(
        "INSERT INTO users (username, name, email, password_hash, role, must_change_password) "
        "VALUES (:u, :n, :e, :h, :r, :m)"),
        {"u": username, "n": name or username, "e": email, "h": password_hash, "r": role,
         "m": must_change_password})
    user = get_user(conn, username=username)
    audit.record(conn, username=actor.username if actor else username, action="create",
                 entity="user", entity_id=username, after=_public(user))
    return user


def _update_user(conn: Connection, actor: Actor, username: str, assignments: str, params: dict) -> User:
    require(actor, "admin")
    before = get_user(conn, username=username)
    if before is None:
        raise AccountError(N_("There is no user {username!r}."), username=username)
    conn.execute(sa.text(f"UPDATE users SET {assignments} WHERE username = :username"),
                 {**params, "username": before.username})
    after = get_user(conn, username=before.username)
    audit.record(conn, username=actor.username, action="update", entity="user",
                 entity_id=before.username, before=_public(before), after=_public(after))
    return after


def _other_active_admins(conn: Connection, username: str) -> int:
    """Active admins other than `username`, with every admin row locked until the transaction ends.

    The lock serialises two admins demoting or deactivating each other at once: the second waits
    for the first to commit, then counts again and sees it is the last one.
    """
    rows = conn.execute(sa.text(
        "SELECT username, active FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE")).all()
    return sum(1 for name, active in rows if active and name != username)


# Role, active and password changes also bump session_epoch: every API token the user holds
# was granted under the old rights or credentials, so it ends with them.
_END_SESSIONS = "session_epoch = session_epoch + 1"


def set_role(conn: Connection, *, actor: Actor, username: str, role: str) -> User:
    """Change a user's role (admin); ends the user's sessions, and the API keys an admin made when
    they are no longer one."""
    if role not in ROLES:
        raise AccountError(N_("Unknown role {role!r}: choose one of {choices}."), role=role, choices=", ".join(ROLES))
    if role != "admin" and _other_active_admins(conn, username) == 0:
        raise AccountError(N_("This is the last active admin: make another admin first."))
    user = _update_user(conn, actor, username, f"role = :role, {_END_SESSIONS}", {"role": role})
    if role != "admin":
        _revoke_keys_made_by(conn, actor, user.username)
    return user


def set_active(conn: Connection, *, actor: Actor, username: str, active: bool) -> User:
    """Activate or deactivate a user (admin); ends the user's sessions, and on a deactivation the API
    keys they made."""
    if not active and _other_active_admins(conn, username) == 0:
        raise AccountError(N_("This is the last active admin: it cannot be deactivated."))
    user = _update_user(conn, actor, username, f"active = :active, {_END_SESSIONS}", {"active": active})
    if not active:
        _revoke_keys_made_by(conn, actor, user.username)
    return user


def reset_password(conn: Connection, *, actor: Actor, username: str, password: str,
                   rounds: int) -> User:
    """Set a new password (admin); also clears a lockout and ends the user's sessions and API tokens."""
    require(actor, "admin")
    check_password_rules(password, username=username)
    return _update_user(conn, actor, username,
                        f"password_hash = :h, failed_logins = 0, failed_since = NULL, locked_until = NULL, "
                        f"must_change_password = false, {_END_SESSIONS}",
                        {"h": hash_password(password, rounds=rounds)})


def set_language(conn: Connection, *, actor: Actor, language: str | None) -> None:
    """The actor's own choice of dashboard language (None: follow the LANGUAGE setting).

    A preference of one's own, not a change to an account: any role may make it, and it is not
    audited."""
    if language is not None and language not in LANGUAGES:
        raise AccountError(N_("Unknown language {language!r}: choose one of {choices}."), language=language,
                           choices=", ".join(LANGUAGES))
    conn.execute(sa.text("UPDATE users SET language = :l WHERE username = :u"),
                 {"l": language, "u": actor.username})


def end_sessions(conn: Connection, *, actor: Actor, username: str) -> User:
    """Log a user out everywhere: every session and API token issued so far stops working.

    Allowed for an admin on anyone and for a user on themselves.
    """
    name = (username or "").strip().lower()
    if actor is None or actor.username != name:
        require(actor, "admin")
    before = get_user(conn, username=name)
    if before is None:
        raise AccountError(N_("There is no user {username!r}."), username=name)
    epoch = conn.scalar(sa.text(f"UPDATE users SET {_END_SESSIONS} WHERE id = :id RETURNING session_epoch"),
                        {"id": before.id})
    audit.record(conn, username=actor.username, action="update", entity="user", entity_id=before.username,
                 before={"session_epoch": before.session_epoch}, after={"session_epoch": epoch})
    return get_user(conn, username=name)


# --- API keys --------------------------------------------------------------------------------

API_KEY_PREFIX = "lgk_"
API_KEY_SHOWN = 12  # characters of a key kept in clear (the prefix shown in lists)
API_KEY_MAX_NAME = 64
API_KEY_MAX_DAYS = 3650
_LAST_USED_EVERY = "1 minute"  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class ApiKey:
    """A key for scripts and integrations; the key itself is never stored, only its hash.

    It works until it is revoked or its expiry passes, and while the admin who made it is an active
    admin (a demotion or deactivation revokes it; a key made with the command line, by `cli`, has no
    such account)."""
    id: int
    name: str
    role: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > datetime.now(timezone.utc))


_API_KEY_COLUMNS = "id, name, role, prefix, created_by, created_at, last_used_at, revoked_at, expires_at"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _public_key(key: ApiKey) -> dict:
    """What the audit log keeps of a key (never the key or its hash)."""
    return {"id": key.id, "name": key.name, "role": key.role, "prefix": key.prefix,
            "revoked_at": key.revoked_at, "expires_at": key.expires_at}


def _get_api_key(conn: Connection, id: int, *, lock: bool = False) -> ApiKey | None:
    row = conn.execute(sa.text(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE id = :id"
                               + (" FOR UPDATE" if lock else "")), {"id": id}).mappings().first()
    return ApiKey(**row) if row else None


def create_api_key(conn: Connection, *, actor: Actor, name: str, role: str,
                   expires_days: int | None = None) -> tuple[ApiKey, str]:
    """Create an API key (admin), valid `expires_days` days (None: until revoked). Returns the key
    record and the key itself, to show once."""
    require(actor, "admin")
    name = " ".join((name or "").split())
    if not name:
        raise AccountError(N_("The key needs a name (what or who uses it)."))
    if len(name) > API_KEY_MAX_NAME:
        raise AccountError(N_("The key's name must be at most {n} characters."), n=API_KEY_MAX_NAME)
    if role not in ROLES:
        raise AccountError(N_("Unknown role {role!r}: choose one of {choices}."), role=role, choices=", ".join(ROLES))
    if expires_days is not None and not 1 <= expires_days <= API_KEY_MAX_DAYS:
        raise AccountError(N_("A key's lifetime must be between 1 and {n} days (or none: until revoked)."),
                           n=API_KEY_MAX_DAYS)
    if conn.scalar(sa.text("SELECT 1 FROM api_keys WHERE name = :n AND revoked_at IS NULL"), {"n": name}):
        raise AccountError(N_("An active key is already named {name!r}: choose another name."), name=name)
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():  # a concurrent create of the same name: a plain message
            id = conn.scalar(sa.text(
                "INSERT INTO api_keys (name, role, prefix, key_hash, created_by, expires_at) "
                "VALUES (:n, :r, :p, :h, :by, now() + make_interval(days => :days)) RETURNING id"),
                {"n": name, "r": role, "p": key[:API_KEY_SHOWN], "h": _key_hash(key), "by": actor.username,
                 "days": expires_days})
    except sa.exc.IntegrityError:
        raise AccountError(N_("An active key is already named {name!r}: choose another name."), name=name) from None
    api_key = _get_api_key(conn, id)
    audit.record(conn, username=actor.username, action="create", entity="api_key", entity_id=id,
                 after=_public_key(api_key))
    return api_key, key


def list_api_keys(conn: Connection) -> list[ApiKey]:
    """Every API key, revoked ones included, newest first."""
    rows = conn.execute(sa.text(f"SELECT {_API_KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"))
    return [ApiKey(**r) for r in rows.mappings()]


def revoke_api_key(conn: Connection, *, actor: Actor, id: int) -> ApiKey:
    """Revoke an API key (admin): it stops working at once. Returns the revoked key."""
    require(actor, "admin")
    before = _get_api_key(conn, id, lock=True)
    if before is None:
        raise AccountError(N_("There is no API key {id}."), id=id)
    if before.revoked_at is not None:
        raise AccountError(N_("The API key {id} ({name}) is already revoked."), id=id, name=before.name)
    return _revoke(conn, actor, before)


def _revoke(conn: Connection, actor: Actor, before: ApiKey) -> ApiKey:
    conn.execute(sa.text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": before.id})
    after = _get_api_key(conn, before.id)
    audit.record(conn, username=actor.username, action="update", entity="api_key", entity_id=before.id,
                 before=_public_key(before), after=_public_key(after))
    return after


def _revoke_keys_made_by(conn: Connection, actor: Actor, username: str) -> None:
    """A key must not outlive the rights it was made with: revoke the keys `username` made."""
    ids = conn.scalars(sa.text("SELECT id FROM api_keys WHERE created_by = :u AND revoked_at IS NULL "
                               "ORDER BY id FOR UPDATE"), {"u": username}).all()
    for id in ids:
        _revoke(conn, actor, _get_api_key(conn, id))


def actor_from_api_key(conn: Connection, *, key: str) -> Actor | None:
    """The actor of a valid API key ("key:<name>" with the key's role); None for anything else
    (unknown, revoked or expired).

    Marks the key used, at most once a minute and without ever waiting for another request's
    lock (SKIP LOCKED): a busy key does not turn every request into a write of the same row.
    Call it in a transaction that commits, or last_used_at is not kept.
    """
    if (not isinstance(key, str) or not key.startswith(API_KEY_PREFIX)
            or not API_KEY_SHOWN < len(key) <= 200):
        return None
    row = conn.execute(sa.text(
        "SELECT id, name, role, last_used_at IS NULL OR last_used_at < now() - CAST(:every AS interval) AS stale "
        "FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"),
        {"h": _key_hash(key), "every": _LAST_USED_EVERY}).mappings().first()
    if row is None:
        return None
    if row["stale"]:
        conn.execute(sa.text(
            "UPDATE api_keys SET last_used_at = now() WHERE id = ("
            " SELECT id FROM api_keys WHERE id = :id"
            " AND (last_used_at IS NULL OR last_used_at < now() - CAST(:every AS interval))"
            " FOR UPDATE SKIP LOCKED)"), {"id": row["id"], "every": _LAST_USED_EVERY})
    return Actor(f"key:{row['name']}", row["role"])


# --- logging in ------------------------------------------------------------------------------------

def verify_login(conn: Connection, *, username: str, password: str, settings: Settings,
                 address: str | None = None) -> User | None:
    """Check a password; count a failure and lock the account after too many. The user when right.

    One step of log_in (which throttles first); call it in a transaction that commits, failures or not.
    The answer is the same (None) for an unknown user, a wrong password, an inactive or a locked
    account, and costs one bcrypt check in every case, an unknown name's at the cost most stored
    hashes have (dummy_hash_cost), so nothing reveals whether a name exists. A right password
    stored at another cost than PASSWORD_HASH_ROUNDS is hashed again at it.
    Failures count towards a lock within LOGIN_LOCK_MINUTES of the first one; once a lock has
    expired the count starts again from zero. A lock ends the user's sessions (someone is guessing
    the password). Failed logins and locks go to the audit log and the JSON log, with the username,
    the client's address and the time only (an unknown name is not written down: it may be a
    mistyped password).
    """
    name = (username or "").strip().lower()
    row = None
    if "\x00" not in name:  # no account has one (the driver refuses it as a parameter)
        row = conn.execute(sa.text(
            "SELECT id, password_hash, active, coalesce(locked_until > now(), false) AS locked, "
            "  (locked_until IS NOT NULL AND locked_until <= now()) OR failed_since IS NULL "
            "  OR failed_since < now() - make_interval(mins => :mins) AS fresh "
            "FROM users WHERE username = :u FOR UPDATE"),
            {"u": name, "mins": settings.login_lock_minutes}).mappings().first()
    if row is None:
        _password_matches(password or "", _dummy_hash(dummy_hash_cost(conn, settings=settings)))
        log.warning("login failed", extra={"fields": {"username": None, "reason": "unknown username",
                                                      "address": address}})
        return None
    ok = _password_matches(password or "", row["password_hash"])
    if ok and row["active"] and not row["locked"]:
        rehash = hash_cost(row["password_hash"]) != settings.password_hash_rounds
        conn.execute(sa.text(
            "UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL, last_login_at = now(), "
            "password_hash = coalesce(:h, password_hash) WHERE id = :id"),
            {"id": row["id"], "h": _bcrypt(password, settings.password_hash_rounds) if rehash else None})
        return get_user(conn, username=name)
    audit.record(conn, username=name, action="login_failed", entity="user", entity_id=name)
    log.warning("login failed", extra={"fields": {"username": name, "address": address}})
    if row["locked"]:
        return None
    locked_now = conn.scalar(sa.text(
        "UPDATE users SET "
        "  failed_logins = CASE WHEN :fresh THEN 1 ELSE failed_logins + 1 END, "
        "  failed_since = CASE WHEN :fresh THEN now() ELSE failed_since END, "
        "  locked_until = CASE WHEN (CASE WHEN :fresh THEN 1 ELSE failed_logins + 1 END) >= :max "
        "    THEN now() + make_interval(mins => :mins) END "
        "WHERE id = :id RETURNING locked_until IS NOT NULL"),
        {"id": row["id"], "fresh": row["fresh"], "max": settings.login_max_failures,
         "mins": settings.login_lock_minutes})
    if locked_now:
        conn.execute(sa.text(f"UPDATE users SET {_END_SESSIONS} WHERE id = :id"), {"id": row["id"]})
        audit.record(conn, username=name, action="lockout", entity="user", entity_id=name)
        log.warning("account locked", extra={"fields": {"username": name, "address": address,
                                                        "minutes": settings.login_lock_minutes}})
    return None


def _login_name(username: str | None, password: str | None) -> str:
    """The username as stored; AccountError when the username or password is longer than any can be
    (answered before anything is counted: such an attempt cannot be right and costs nothing)."""
    name = (username or "").strip().lower()
    if len(name) > MAX_USERNAME_LENGTH:
        raise AccountError(N_("The username must be at most {n} characters long."), n=MAX_USERNAME_LENGTH)
    if len((password or "").encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise AccountError(N_("The password must be at most {n} bytes long."), n=MAX_PASSWORD_BYTES)
    return name


def _proven_user(engine: Engine, *, username: str, password: str, address: str, settings: Settings,
                 failed: str) -> User:
    """The user whose password this is, behind the throttle: every check of a password goes here.

    The attempt is counted first, in its own transaction (throttle.take_login: Throttled when over a
    limit); then the password is checked and a failure counted in another, committed before
    LoginFailed(`failed`) is raised; a right password gives the attempt back."""
    name = _login_name(username, password)
    with engine.begin() as conn:
        attempt = throttle.take_login(conn, settings=settings, address=address, username=name)
    with engine.begin() as conn:
        user = verify_login(conn, username=name, password=password, settings=settings, address=address)
        if user is not None:
            throttle.give_back(conn, attempt=attempt)
    if user is None:
        raise LoginFailed(failed)
    return user


def session_days(settings: Settings, *, kind: str) -> float:
    """How long a new session of this kind lives: the login cookie's days, or the refresh token's."""
    return settings.auth_cookie_expiry_days if kind == "dashboard" else settings.api_refresh_token_days


def log_in(engine: Engine, *, username: str, password: str, address: str, settings: Settings,
           kind: str = "dashboard") -> Session:
    """A login, for every front end: the throttle, the password check, the failure count, and a new
    session of `kind` ("dashboard": its cookie names it; "api": its tokens do).

    Raises Throttled (too many attempts from `address`), LoginFailed (LOGIN_FAILED, the one answer
    to a wrong name or password or a locked or deactivated account) or AccountError (a username or
    password longer than any can be). Takes the engine, not a connection: a failure is committed
    before it is raised. An API login of a user who must change a generated password is refused
    (PasswordChangeRequired: tokens would skip the change); the dashboard asks for it first.
    """
    user = _proven_user(engine, username=username, password=password, address=address, settings=settings,
                        failed=LOGIN_FAILED)
    if kind == "api" and user.must_change_password:
        raise PasswordChangeRequired(MUST_CHANGE_PASSWORD)
    with engine.begin() as conn:
        return start_session(conn, username=user.username, days=session_days(settings, kind=kind), kind=kind)


def change_own_password(engine: Engine, *, username: str, current: str, new: str, address: str,
                        settings: Settings, kind: str = "dashboard") -> Session:
    """A user changes their own password, giving the current one (the dashboard's Account box and
    first-password form, the API's POST /v1/auth/password).

    The current password is checked as a login's is (throttled; a wrong one counts towards the
    lockout: LoginFailed). Ends every session and API token of the user, clears
    must_change_password, and returns a new session of `kind` for the client it was done from.
    """
    name = _login_name(username, current)
    if new == current:
        raise AccountError(N_("The new password must differ from the current one."))
    check_password_rules(new or "", username=name)
    user = _proven_user(engine, username=name, password=current, address=address, settings=settings,
                        failed=CURRENT_PASSWORD_WRONG)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"UPDATE users SET password_hash = :h, must_change_password = false, {_END_SESSIONS} WHERE id = :id"),
            {"h": hash_password(new, rounds=settings.password_hash_rounds), "id": user.id})
        audit.record(conn, username=user.username, action="update", entity="user", entity_id=user.username,
                     before={"password": "(changed)"}, after={"password": "(changed)"})
        return start_session(conn, username=user.username, days=session_days(settings, kind=kind), kind=kind)


def register(engine: Engine, *, username: str, password: str, address: str, settings: Settings,
             name: str | None = None, email: str | None = None) -> User:
    """Self-registration, for every front end: a viewer account, when ALLOW_SIGNUP=true.

    Every attempt from `address` counts against LOGIN_ATTEMPTS_PER_MINUTE (Throttled beyond it), then
    the account's rules apply (create_user)."""
    if not settings.allow_signup:
        raise PermissionDenied(N_("Self-registration is off (ALLOW_SIGNUP=false); ask an admin for an account."))
    with engine.begin() as conn:
        throttle.take_signup(conn, settings=settings, address=address)
    with engine.begin() as conn:
        return create_user(conn, actor=None, username=username, password=password, role="viewer", name=name,
                           email=email, rounds=settings.password_hash_rounds)


# --- sessions ------------------------------------------------------------------------------------

SESSION_KINDS = ("dashboard", "api")
_SEEN_EVERY = "1 minute"  # a dashboard session's last_seen_at is written at most this often


@dataclass(frozen=True)
class Session:
    """One login (a row of `sessions`): the dashboard's cookie or the API's tokens name it by `sid`."""
    sid: str
    user: User
    expires_at: datetime
    kind: str = "dashboard"


def start_session(conn: Connection, *, username: str, days: float, kind: str = "dashboard") -> Session:
    """A new session for a user who just proved their password, valid `days` days.

    Also prunes sessions that ended or expired more than a day ago.
    """
    if kind not in SESSION_KINDS:
        raise ValueError(f"kind must be one of {SESSION_KINDS}, not {kind!r}")
    user = get_user(conn, username=username)
    if user is None or not user.active:
        raise PermissionDenied(N_("This account cannot log in."))
    conn.execute(sa.text("DELETE FROM sessions WHERE coalesce(ended_at, expires_at) < now() - interval '1 day'"))
    sid = secrets.token_urlsafe(32)
    expires_at = conn.scalar(sa.text(
        "INSERT INTO sessions (sid, user_id, epoch, expires_at, kind) "
        "VALUES (:sid, :uid, :epoch, now() + make_interval(secs => :secs), :kind) RETURNING expires_at"),
        {"sid": sid, "uid": user.id, "epoch": user.session_epoch, "secs": max(days, 0) * 86400 or 86400,
         "kind": kind})
    return Session(sid, user, expires_at, kind)


_SESSION_USER_COLUMNS = ", ".join("u." + c.strip() for c in _USER_COLUMNS.split(","))


def get_session(conn: Connection, *, sid: str, kind: str = "dashboard", idle_minutes: int = 0,
                touch: bool = False) -> Session | None:
    """A live session of this kind, or None when it ended.

    A session ends with a logout, its expiry, the user's deactivation, a change of the user's
    session epoch (password, role, lock, "log out everywhere"), and for the dashboard with
    `idle_minutes` (AUTH_IDLE_MINUTES; 0: never) without a page run. `touch` notes a page run
    (at most once a minute; call it in a transaction that commits).
    """
    if not isinstance(sid, str) or not 20 <= len(sid) <= 100:
        return None
    row = conn.execute(sa.text(
        f"SELECT s.sid, s.expires_at, s.kind, s.last_seen_at < now() - CAST(:every AS interval) "
        f"  AS stale, {_SESSION_USER_COLUMNS} "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.sid = :sid AND s.kind = :kind AND s.ended_at IS NULL AND s.expires_at > now() "
        "  AND u.active AND u.session_epoch = s.epoch "
        "  AND (:idle = 0 OR s.last_seen_at > now() - make_interval(mins => :idle))"),
        {"sid": sid, "kind": kind, "idle": idle_minutes, "every": _SEEN_EVERY}).mappings().first()
    if row is None:
        return None
    values = dict(row)
    session = {k: values.pop(k) for k in ("sid", "expires_at", "kind")}
    if values.pop("stale") and touch:
        conn.execute(sa.text("UPDATE sessions SET last_seen_at = now() WHERE sid = :sid"), {"sid": sid})
    return Session(user=User(**values), **session)


def session_user(conn: Connection, *, sid: str, username: str | None = None, idle_minutes: int = 0,
                 touch: bool = False) -> User | None:
    """The user of a live dashboard session (get_session), or None when it ended.

    Checked on every page run, and before a login is restored from a cookie. `username`, when
    given, must be the session's.
    """
    session = get_session(conn, sid=sid, idle_minutes=idle_minutes, touch=touch)
    if session is None or (username is not None and session.user.username != (username or "").strip().lower()):
        return None
    return session.user


def end_session(conn: Connection, *, sid: str) -> None:
    """Log out one session: its cookie or its tokens, and any copy of them, stop working."""
    row = conn.execute(sa.text(
        "UPDATE sessions s SET ended_at = now() FROM users u "
        "WHERE s.sid = :sid AND s.ended_at IS NULL AND u.id = s.user_id RETURNING u.username"),
        {"sid": sid}).first()
    if row is not None:
        audit.record(conn, username=row.username, action="logout", entity="user", entity_id=row.username)


def ensure_admin(conn: Connection, *, settings: Settings) -> str | None:
    """Create the first admin when there are no users.

    Returns the generated password when ADMIN_PASSWORD was unset (to print once), else None.
    A username or password the account rules refuse stops the start (ConfigError naming the setting).
    """
    conn.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    if count_users(conn):
        return None
    password = settings.admin_password or generate_password()
    try:
        create_user(conn, actor=CLI_ACTOR, username=settings.admin_username, password=password,
                    role="admin", name="Administrator", rounds=settings.password_hash_rounds,
                    must_change_password=not settings.admin_password)
    except AccountError as exc:
        raise ConfigError(f"The first admin cannot be created from ADMIN_USERNAME and ADMIN_PASSWORD: {exc}") from None
    return None if settings.admin_password else password
