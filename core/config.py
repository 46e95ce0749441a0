"""Settings: one validated object built from the environment.

Every knob is one row of SETTINGS (name, default, help, parser): Settings takes its attributes from
the rows, and the README table and `python -m core settings` are generated from the same place.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, make_dataclass
from datetime import time
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A setting has a value the product refuses to start with."""

    exit_code = 2  # refused (core.cli)


# --- how a setting's text is read: (setting name, text) -> value, or ConfigError naming the setting ---

def text(name: str, raw: str) -> str:
    return raw


def boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def integer(low: int, high: int) -> Callable[[str, str], int]:
    """A whole number in [low, high]."""
    return _between(int, "a whole number", low, high)


def number(low: float, high: float, *, unit: str = "", hint: str = "") -> Callable[[str, str], float]:
    """A decimal number in [low, high] (nan and inf refused); `unit` and `hint` go into the message."""
    return _between(float, f"a number between {low} and {high}{unit}", low, high, unit + hint)


def _between(cast: Callable[[str], Any], kind: str, low: float, high: float,
             after: str = "") -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            value = cast(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, not {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}{after}, not {raw.strip()}")
        return value
    return parse


def one_of(*values: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().upper()
        if value not in values:
            raise ConfigError(f"{name} must be {', '.join(values[:-1])} or {values[-1]}, not {value!r}")
        return value
    return parse


def directory(name: str, raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def username(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if not value:
        raise ConfigError(f"{name} must not be empty")
    return value


def addresses(name: str, raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def upper(name: str, raw: str) -> str:
    return raw.strip().upper()


def memory_mb(name: str, raw: str) -> int | None:
    """Megabytes in [32, 65536], or None for `auto` (sized from the machine: core.db.embedded_memory)."""
    return None if raw.strip().lower() == "auto" else integer(32, 65536)(name, raw)


def time_zone(name: str, raw: str) -> str:
    """An IANA time zone name (America/Sao_Paulo), checked against the system's zone data."""
    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be a time zone name such as America/Sao_Paulo, not {value!r}") from None
    return value


def time_of_day(name: str, raw: str) -> time:
    """HH:MM, 00:00-23:59."""
    try:
        return time.fromisoformat(raw.strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day as HH:MM (e.g. 07:30), not {raw.strip()!r}") from None


# The dashboard's languages (gettext catalogs in locale/), each named in its own language.
LANGUAGES = {"pt_BR": "Português (Brasil)", "en": "English"}


def language(name: str, raw: str) -> str:
    value = raw.strip().replace("-", "_")
    if value not in LANGUAGES:
        raise ConfigError(f"{name} must be one of {', '.join(LANGUAGES)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One knob: its environment variable, default text (None: unset), one line of help, how its
    text is read, and the Settings attribute it becomes (the variable in lower case unless given)."""
    name: str
    default: str | None
    help: str
    parse: Callable[[str, str], Any] = text
    attribute: str | None = None

    @property
    def field(self) -> str:
        return self.attribute or self.name.lower()

    def read(self, env: Mapping[str, str]) -> Any:
        """The value from `env` (empty counts as unset), else the default; None when both are unset."""
        raw = env.get(self.name) or self.default
        return None if raw is None else self.parse(self.name, raw)


MAX_COOKIE_EXPIRY_DAYS = 30

# Every setting, in the order `python -m core settings` and the README list them. A new setting is
# one row here: Settings gets its attribute from it.
SETTINGS: list[Setting] = [
    Setting("DATABASE_URL", None, "PostgreSQL URL (postgresql://user:pass@host/db). Unset: an embedded "
            "PostgreSQL is started in LOGISTICS_DATA_DIR."),
    Setting("LOGISTICS_DATA_DIR", ".data", "Directory for the embedded database, the generated cookie and "
            "API token keys and uploaded files waiting to be loaded.", directory, "data_dir"),
    Setting("AUTH_COOKIE_KEY", None, "Secret that signs the login cookie (32+ characters, not a well-known "
            "value, in every mode). Embedded mode generates one in the data dir when unset; required with "
            "DATABASE_URL."),
    Setting("AUTH_COOKIE_NAME", "logistics_auth", "Name of the login cookie."),
    Setting("AUTH_COOKIE_EXPIRY_DAYS", "1", "Days a login cookie stays valid (0-30; 0: no cookie, every new "
            "tab logs in).", number(0, MAX_COOKIE_EXPIRY_DAYS, unit=" days")),
    Setting("AUTH_COOKIE_SECURE", "false", "true marks the login cookie Secure: the browser sends it over HTTPS "
            "only. Set it when the dashboard is served over HTTPS (compose sets it: docs/deploy.md).", boolean),
    Setting("AUTH_IDLE_MINUTES", "120", "Minutes without a page run after which a dashboard session ends "
            "(0-10080; 0: never, the cookie's expiry alone ends it).", integer(0, 7 * 24 * 60)),
    Setting("ADMIN_USERNAME", "admin", "Username of the first admin, created on first start with no users.",
            username),
    Setting("ADMIN_PASSWORD", None, "Password of the first admin. Unset: a strong one is generated and "
            "printed once to the console."),
    Setting("ALLOW_SIGNUP", "false", "true lets visitors register themselves as viewers.", boolean),
    Setting("LOGIN_MAX_FAILURES", "5", "Failed logins within LOGIN_LOCK_MINUTES that lock an account.",
            integer(1, 100)),
    Setting("LOGIN_LOCK_MINUTES", "15", "How long a locked account stays locked; failures count towards a "
            "lock within this many minutes.", integer(1, 24 * 60)),
    Setting("LOGIN_ATTEMPTS_PER_MINUTE", "5", "Failed logins, and registrations, one client address may make "
            "per minute (1-1000); one address may also fail at most LOGIN_MAX_FAILURES - 1 times per account "
            "and LOGIN_LOCK_MINUTES, so it cannot lock an account alone.", integer(1, 1000)),
    Setting("TRUSTED_PROXIES", "127.0.0.1,::1", "Addresses of the reverse proxies whose X-Forwarded-For names "
            "the client (comma-separated); the login throttle counts per client address.", addresses),
    Setting("PASSWORD_HASH_ROUNDS", "12", "bcrypt cost factor for new password hashes (4-16).", integer(4, 16)),
    Setting("LOAD_WORKERS", "2", "Worker threads of a file load (parse and write in parallel).", integer(1, 64)),
    Setting("LOAD_CHUNK_ROWS", "25000", "Lines per chunk of a file load (memory grows with it, speed barely).",
            integer(1000, 5_000_000)),
    Setting("SLA_TARGET", "0.90", "SLA target drawn on the charts (0-1).", number(0, 1, hint=" (0.9 means 90%)")),
    Setting("HOLIDAY_COUNTRY", "BR", "Country whose national holidays are not business days "
            "(code of the `holidays` package).", upper),
    Setting("LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR.", one_of("DEBUG", "INFO", "WARNING", "ERROR")),
    Setting("API_TOKEN_KEY", None, "Secret that signs the HTTP API's bearer tokens (32+ characters). Embedded "
            "mode generates one in the data dir when unset; required (and not a well-known value) with "
            "DATABASE_URL."),
    Setting("API_ACCESS_TOKEN_MINUTES", "15", "Minutes an API access token stays valid (1-1440).",
            integer(1, 24 * 60)),
    Setting("API_REFRESH_TOKEN_DAYS", "7", "Days an API login lasts (1-90): its refresh token gets new access "
            "tokens until then, unless the session ends first (a logout, a password or role change).",
            integer(1, 90)),
    Setting("UPLOAD_MAX_MB", "200", "Largest file, in MB, the API's batch load routes accept (1-10000); the "
            "dashboard's own limit is server.maxUploadSize in .streamlit/config.toml, also 200.",
            integer(1, 10_000)),
    Setting("API_PORT", "8502", "Port of the HTTP API server started by `make run` (1-65535).", integer(1, 65535)),
    Setting("LANGUAGE", "pt_BR", "Language of the dashboard for users who have not chosen one, and of the login "
            "page when the browser asks for neither: pt_BR or en.", language),
    Setting("EMBEDDED_MEMORY_MB", "auto", "shared_buffers of the embedded PostgreSQL, in MB (32-65536); auto: "
            "1/32 of the machine's memory, 128-512. Its work_mem is 1/32 of that (4-16 MB). Taken at the "
            "server's next start; not used with DATABASE_URL.", memory_mb),
    Setting("TIMEZONE", "America/Sao_Paulo", "The operation's time zone (an IANA name): what \"today\" is on the "
            "Today page, in the API's today, in alerts and in the daily summary.", time_zone),
    Setting("DAILY_SUMMARY_TIME", "07:00", "Time of day (HH:MM, in TIMEZONE) at which the alerts worker sends the "
            "daily summary rules (yesterday's SLA and visits per polo, today's open services).", time_of_day),
    Setting("NOTIFY_TIMEOUT_SECONDS", "5", "Seconds an alert delivery (webhook or e-mail) may take before it "
            "counts as failed and is retried later (1-30): a slow receiver never holds the worker longer.",
            integer(1, 30)),
    Setting("SMTP_HOST", None, "Mail server for alert e-mails. Unset: rules send to their webhooks only."),
    Setting("SMTP_PORT", "587", "Port of SMTP_HOST (1-65535; 587 with STARTTLS, 465 with SSL).",
            integer(1, 65535)),
    Setting("SMTP_TLS", "STARTTLS", "How the mail connection is encrypted: STARTTLS, SSL or NONE (NONE only for a "
            "relay on the same host or network).", one_of("STARTTLS", "SSL", "NONE")),
    Setting("SMTP_FROM", None, "Sender address of alert e-mails (required with SMTP_HOST)."),
    Setting("SMTP_USERNAME", None, "Login on SMTP_HOST; unset: no login."),
    Setting("SMTP_PASSWORD", None, "Password of SMTP_USERNAME; never logged nor shown."),
]

# Values that appear in docs and examples: a secret equal to one of them is no secret.
WELL_KNOWN_SECRETS = {"", "changeme", "change-me", "secret", "my-secret", "some_key",
                      "some_signature_key", "random_signature_key", "abcdef", "password"}


class _Methods:
    """What Settings does beyond holding the values (its attributes come from SETTINGS)."""

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate every setting; raise ConfigError with a plain message."""
        env = os.environ if env is None else env
        settings = cls(**{s.field: s.read(env) for s in SETTINGS})
        _check(settings)
        return settings

    def cookie_key(self) -> str:
        """The cookie signing key; in embedded mode generated once and kept in the data dir."""
        if self.auth_cookie_key:
            return self.auth_cookie_key
        return _secret_file(self.data_dir / "cookie_key")

    def token_key(self) -> str:
        """The key that signs the API's tokens; in embedded mode generated once in the data dir.

        With DATABASE_URL it must be set (from_env refuses to start without it).
        """
        if self.api_token_key:
            return self.api_token_key
        if not self.embedded:
            _check_secret("API_TOKEN_KEY", None)
        return _secret_file(self.data_dir / "api_token_key")


def settings_class(rows: list[Setting]) -> type:
    """A frozen dataclass with an attribute per row (e.g. settings.load_workers) and _Methods."""
    cls = make_dataclass("Settings", [(s.field, Any) for s in rows], bases=(_Methods,), frozen=True)
    cls.__doc__ = "Every setting, read from the environment and validated (Settings.from_env)."
    return cls


Settings = settings_class(SETTINGS)


def _check(settings: Settings) -> None:
    """The rules that involve more than one setting, or the mode."""
    # An explicit key is checked in every mode: a weak cookie key lets anyone forge an admin's cookie.
    if settings.api_token_key is not None or not settings.embedded:
        _check_secret("API_TOKEN_KEY", settings.api_token_key)
    if settings.auth_cookie_key is not None or not settings.embedded:
        _check_secret("AUTH_COOKIE_KEY", settings.auth_cookie_key)
    if settings.smtp_host and not settings.smtp_from:
        raise ConfigError("SMTP_FROM must be set with SMTP_HOST: the sender address of alert e-mails")
    if not settings.embedded:
        # The placeholders of .env.example must not reach production (an empty password is
        # fine: local socket connections may use trust or peer authentication).
        password = urlsplit(settings.database_url).password
        if password and password.strip().lower() in WELL_KNOWN_SECRETS:
            raise ConfigError("The password in DATABASE_URL (APP_DB_PASSWORD with compose) is a placeholder; "
                              "set a random one (e.g. openssl rand -hex 24)")


MIN_SECRET_LENGTH = 32


def _check_secret(name: str, key: str | None) -> None:
    """Refuse a missing, well-known or short signing key, naming the setting."""
    if key is None or key.strip().lower() in WELL_KNOWN_SECRETS or len(key.strip()) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{name} must be set to a random secret of {MIN_SECRET_LENGTH}+ characters, not a well-known "
            "value (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'); unset in embedded "
            "mode, one is generated in the data dir")


def _secret_file(path: Path) -> str:
    """A random secret kept in `path` (mode 0600), created on first use.

    The secret is written to a private temporary file opened 0600 with O_CREAT|O_EXCL (never
    readable by others, not even for a moment), then hard-linked into place: os.link fails when
    the file exists, so when processes race the first one wins and every one reads its secret,
    never a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink()
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigError(f"{path} holds no usable key (fewer than 32 characters): delete it to get a new one")
    return secret


def load_settings() -> Settings:
    """Settings from the current environment (a fresh read each call)."""
    return Settings.from_env()
