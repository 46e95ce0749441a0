"""Settings: one validated object built from the environment.

Every knob is a row of SETTINGS (name, default, help), so the README table and `python -m core
settings` are generated from the same place the code reads.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has a value the product refuses to start with."""


# (environment variable, default, one line of help). Default None = unset.
SETTINGS: list[tuple[str, str | None, str]] = [
    ("DATABASE_URL", None, "PostgreSQL URL (postgresql://user:pass@host/db). Unset: an embedded "
     "PostgreSQL is started in LOGISTICS_DATA_DIR."),
    ("LOGISTICS_DATA_DIR", ".data", "Directory for the embedded database, the generated cookie and "
     "API token keys and uploaded files waiting to be loaded."),
    ("AUTH_COOKIE_KEY", None, "Secret that signs the login cookie (32+ characters, not a well-known value, "
     "in every mode). Embedded mode generates one in the data dir when unset; required with DATABASE_URL."),
    ("AUTH_COOKIE_NAME", "logistics_auth", "Name of the login cookie."),
    ("AUTH_COOKIE_EXPIRY_DAYS", "1", "Days a login cookie stays valid (0-30; 0: no cookie, every new tab "
     "logs in)."),
    ("ADMIN_USERNAME", "admin", "Username of the first admin, created on first start with no users."),
    ("ADMIN_PASSWORD", None, "Password of the first admin. Unset: a strong one is generated and "
     "printed once to the console."),
    ("ALLOW_SIGNUP", "false", "true lets visitors register themselves as viewers."),
    ("LOGIN_MAX_FAILURES", "5", "Failed logins within LOGIN_LOCK_MINUTES that lock an account."),
    ("LOGIN_LOCK_MINUTES", "15", "How long a locked account stays locked; failures count towards a lock "
     "within this many minutes."),
    ("LOGIN_ATTEMPTS_PER_MINUTE", "5", "Failed logins, and registrations, one client address may make per "
     "minute (1-1000); one address may also fail at most LOGIN_MAX_FAILURES - 1 times per account and "
     "LOGIN_LOCK_MINUTES, so it cannot lock an account alone."),
    ("TRUSTED_PROXIES", "127.0.0.1,::1", "Addresses of the reverse proxies whose X-Forwarded-For names the "
     "client (comma-separated); the login throttle counts per client address."),
    ("PASSWORD_HASH_ROUNDS", "12", "bcrypt cost factor for new password hashes (4-16)."),
    ("LOAD_WORKERS", "2", "Worker threads of a file load (parse and write in parallel)."),
    ("LOAD_CHUNK_ROWS", "25000", "Lines per chunk of a file load (memory grows with it, speed barely)."),
    ("SLA_TARGET", "0.90", "SLA target drawn on the charts (0-1)."),
    ("HOLIDAY_COUNTRY", "BR", "Country whose national holidays are not business days "
     "(code of the `holidays` package)."),
    ("LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING or ERROR."),
    ("API_TOKEN_KEY", None, "Secret that signs the HTTP API's bearer tokens (32+ characters). Embedded "
     "mode generates one in the data dir when unset; required (and not a well-known value) with "
     "DATABASE_URL."),
    ("API_ACCESS_TOKEN_MINUTES", "15", "Minutes an API access token stays valid (1-1440)."),
    ("API_REFRESH_TOKEN_DAYS", "7", "Days an API refresh token stays valid (1-90)."),
    ("UPLOAD_MAX_MB", "200", "Largest file, in MB, the API's batch load routes accept (1-10000); the "
     "dashboard's own limit is server.maxUploadSize in .streamlit/config.toml, also 200."),
    ("API_PORT", "8502", "Port of the HTTP API server started by `make run` (1-65535)."),
    ("LANGUAGE", "pt_BR", "Language of the dashboard for users who have not chosen one, and of the login "
     "page when the browser asks for neither: pt_BR or en."),
    ("EMBEDDED_MEMORY_MB", "auto", "shared_buffers of the embedded PostgreSQL, in MB (32-65536); auto: "
     "1/32 of the machine's memory, 128-512. Its work_mem is 1/32 of that (4-16 MB). Taken at the "
     "server's next start; not used with DATABASE_URL."),
]

# The dashboard's languages (gettext catalogs in locale/), each named in its own language.
LANGUAGES = {"pt_BR": "Português (Brasil)", "en": "English"}

DEFAULTS = {name: default for name, default, _ in SETTINGS}

# Values that appear in docs and examples: a secret equal to one of them is no secret.
WELL_KNOWN_SECRETS = {"", "changeme", "change-me", "secret", "my-secret", "some_key",
                      "some_signature_key", "random_signature_key", "abcdef", "password"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    auth_cookie_key: str | None
    auth_cookie_name: str
    auth_cookie_expiry_days: float
    admin_username: str
    admin_password: str | None
    allow_signup: bool
    login_max_failures: int
    login_lock_minutes: int
    login_attempts_per_minute: int
    trusted_proxies: tuple[str, ...]
    password_hash_rounds: int
    load_workers: int
    load_chunk_rows: int
    sla_target: float
    holiday_country: str
    log_level: str
    api_token_key: str | None
    api_access_token_minutes: int
    api_refresh_token_days: int
    upload_max_mb: int
    api_port: int
    language: str = "pt_BR"
    embedded_memory_mb: int | None = None   # None: sized from the machine (core.db.embedded_memory)

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate every setting; raise ConfigError with a plain message."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return DEFAULTS[name] if value is None or value == "" else value

        try:
            sla_target = float(get("SLA_TARGET"))
        except ValueError:
            raise ConfigError(f"SLA_TARGET must be a number between 0 and 1, not {get('SLA_TARGET')!r}") from None
        if not 0 <= sla_target <= 1:
            raise ConfigError("SLA_TARGET must be between 0 and 1 (0.9 means 90%)")
        try:
            expiry = float(get("AUTH_COOKIE_EXPIRY_DAYS"))
        except ValueError:
            raise ConfigError("AUTH_COOKIE_EXPIRY_DAYS must be a number of days") from None
        if not 0 <= expiry <= MAX_COOKIE_EXPIRY_DAYS:  # also refuses nan and inf
            raise ConfigError(f"AUTH_COOKIE_EXPIRY_DAYS must be between 0 and {MAX_COOKIE_EXPIRY_DAYS} days, "
                              f"not {get('AUTH_COOKIE_EXPIRY_DAYS')}")
        log_level = get("LOG_LEVEL").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
        language = get("LANGUAGE").strip().replace("-", "_")
        if language not in LANGUAGES:
            raise ConfigError(f"LANGUAGE must be one of {', '.join(LANGUAGES)}, not {language!r}")
        admin = get("ADMIN_USERNAME").strip().lower()
        if not admin:
            raise ConfigError("ADMIN_USERNAME must not be empty")

        settings = cls(
            database_url=get("DATABASE_URL"),
            data_dir=Path(get("LOGISTICS_DATA_DIR")).expanduser().resolve(),
            auth_cookie_key=get("AUTH_COOKIE_KEY"),
            auth_cookie_name=get("AUTH_COOKIE_NAME"),
            auth_cookie_expiry_days=expiry,
            admin_username=admin,
            admin_password=get("ADMIN_PASSWORD"),
            allow_signup=_bool("ALLOW_SIGNUP", get("ALLOW_SIGNUP")),
            login_max_failures=_int("LOGIN_MAX_FAILURES", get("LOGIN_MAX_FAILURES"), 1, 100),
            login_lock_minutes=_int("LOGIN_LOCK_MINUTES", get("LOGIN_LOCK_MINUTES"), 1, 24 * 60),
            login_attempts_per_minute=_int("LOGIN_ATTEMPTS_PER_MINUTE", get("LOGIN_ATTEMPTS_PER_MINUTE"), 1, 1000),
            trusted_proxies=tuple(a.strip() for a in get("TRUSTED_PROXIES").split(",") if a.strip()),
            password_hash_rounds=_int("PASSWORD_HASH_ROUNDS", get("PASSWORD_HASH_ROUNDS"), 4, 16),
            load_workers=_int("LOAD_WORKERS", get("LOAD_WORKERS"), 1, 64),
            load_chunk_rows=_int("LOAD_CHUNK_ROWS", get("LOAD_CHUNK_ROWS"), 1000, 5_000_000),
            sla_target=sla_target,
            holiday_country=get("HOLIDAY_COUNTRY").upper(),
            log_level=log_level,
            api_token_key=get("API_TOKEN_KEY"),
            api_access_token_minutes=_int("API_ACCESS_TOKEN_MINUTES", get("API_ACCESS_TOKEN_MINUTES"), 1, 24 * 60),
            api_refresh_token_days=_int("API_REFRESH_TOKEN_DAYS", get("API_REFRESH_TOKEN_DAYS"), 1, 90),
            upload_max_mb=_int("UPLOAD_MAX_MB", get("UPLOAD_MAX_MB"), 1, 10_000),
            api_port=_int("API_PORT", get("API_PORT"), 1, 65535),
            language=language,
            embedded_memory_mb=(None if get("EMBEDDED_MEMORY_MB").strip().lower() == "auto"
                                else _int("EMBEDDED_MEMORY_MB", get("EMBEDDED_MEMORY_MB"), 32, 65536)),
        )
        # An explicit key is checked in every mode: a weak cookie key lets anyone forge an admin's cookie.
        if settings.api_token_key is not None or not settings.embedded:
            _check_secret("API_TOKEN_KEY", settings.api_token_key)
        if settings.auth_cookie_key is not None or not settings.embedded:
            _check_secret("AUTH_COOKIE_KEY", settings.auth_cookie_key)
        if not settings.embedded:
            # The placeholders of .env.example must not reach production (an empty password is
            # fine: local socket connections may use trust or peer authentication).
            password = urlsplit(settings.database_url).password
            if password and password.strip().lower() in WELL_KNOWN_SECRETS:
                raise ConfigError("The password in DATABASE_URL (APP_DB_PASSWORD with compose) is a placeholder; "
                                  "set a random one (e.g. openssl rand -hex 24)")
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


MIN_SECRET_LENGTH = 32
MAX_COOKIE_EXPIRY_DAYS = 30


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
