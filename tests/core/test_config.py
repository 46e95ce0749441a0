"""Settings are validated at start, with plain messages."""
import pytest

from core.config import SETTINGS, ConfigError, Settings


def test_defaults_give_embedded_mode(tmp_path):
    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)})
    assert s.embedded and s.sla_target == 0.9 and s.admin_username == "admin"
    assert s.load_workers == 2 and not s.allow_signup


def test_external_database_needs_a_real_cookie_key():
    url = {"DATABASE_URL": "postgresql://u:p@db/logistics", "API_TOKEN_KEY": "t" * 32}
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY"):
        Settings.from_env(url)
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY"):
        Settings.from_env({**url, "AUTH_COOKIE_KEY": "some_key"})
    assert not Settings.from_env({**url, "AUTH_COOKIE_KEY": "x" * 32}).embedded


@pytest.mark.parametrize("env, message", [
    ({"SLA_TARGET": "95"}, "between 0 and 1"),
    ({"SLA_TARGET": "high"}, "number between 0 and 1"),
    ({"ALLOW_SIGNUP": "maybe"}, "true or false"),
    ({"LOAD_WORKERS": "zero"}, "whole number"),
    ({"LOAD_WORKERS": "0"}, "between 1 and 64"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
])
def test_bad_values_are_refused_with_the_setting_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_embedded_cookie_key_is_generated_once_and_kept(tmp_path):
    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)})
    key = s.cookie_key()
    assert len(key) >= 32 and s.cookie_key() == key
    assert (tmp_path / "cookie_key").stat().st_mode & 0o777 == 0o600


def test_embedded_api_token_key_is_generated_once_apart_from_the_cookie_key(tmp_path):
    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)})
    key = s.token_key()
    assert len(key) >= 32 and s.token_key() == key
    assert Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)}).token_key() == key  # kept
    assert key != s.cookie_key()
    assert (tmp_path / "api_token_key").read_text() == key
    assert (tmp_path / "api_token_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_generated_key_file_racing_processes_agree_on(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path / "data")})
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: s.token_key(), range(32)))
    assert keys == {(tmp_path / "data" / "api_token_key").read_text()}


def test_api_token_key_is_needed_with_an_external_database_and_must_be_real():
    env = {"DATABASE_URL": "postgresql://u:p@db/logistics", "AUTH_COOKIE_KEY": "x" * 32}
    with pytest.raises(ConfigError, match="API_TOKEN_KEY must be set to a random secret of 32"):
        Settings.from_env(env)
    for bad in ("change-me", "k" * 31):
        with pytest.raises(ConfigError, match="API_TOKEN_KEY"):
            Settings.from_env({**env, "API_TOKEN_KEY": bad})
    with pytest.raises(ConfigError, match="API_TOKEN_KEY"):  # refused in embedded mode too
        Settings.from_env({"API_TOKEN_KEY": "change-me"})
    assert Settings.from_env({**env, "API_TOKEN_KEY": "t" * 32}).token_key() == "t" * 32


def test_api_settings_defaults_and_bounds(tmp_path):
    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)})
    assert (s.api_access_token_minutes, s.api_refresh_token_days, s.upload_max_mb, s.api_port) == (15, 7, 200, 8502)
    for env, message in (({"API_ACCESS_TOKEN_MINUTES": "0"}, "between 1 and 1440"),
                         ({"API_REFRESH_TOKEN_DAYS": "91"}, "between 1 and 90"),
                         ({"UPLOAD_MAX_MB": "10001"}, "between 1 and 10000"),
                         ({"API_PORT": "65536"}, "API_PORT must be between 1 and 65535"),
                         ({"API_PORT": "http"}, "API_PORT must be a whole number")):
        with pytest.raises(ConfigError, match=message):
            Settings.from_env(env)


def test_every_setting_has_help_and_is_an_attribute_of_settings():
    assert all(s.help.strip() for s in SETTINGS)
    assert list(Settings.__dataclass_fields__) == [s.field for s in SETTINGS]


def test_a_setting_is_one_row_with_its_parser(monkeypatch):
    from core import config

    row = config.Setting("REPORT_ROWS", "10", "Rows in a report (1-100).", config.integer(1, 100))
    monkeypatch.setattr(config, "SETTINGS", [*config.SETTINGS, row])
    settings_class = config.settings_class(config.SETTINGS)
    assert settings_class.from_env({}).report_rows == 10
    assert settings_class.from_env({"REPORT_ROWS": "42"}).report_rows == 42
    with pytest.raises(ConfigError, match="REPORT_ROWS must be between 1 and 100, not 0"):
        settings_class.from_env({"REPORT_ROWS": "0"})


@pytest.mark.parametrize("key", ["change-me", "CHANGE-ME", "some_key", "x" * 31, " " * 40])
def test_a_weak_cookie_key_stops_the_start_in_every_mode(tmp_path, key):
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY must be set to a random secret of 32"):
        Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path), "AUTH_COOKIE_KEY": key})
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY"):
        Settings.from_env({"DATABASE_URL": "postgresql://u:p@db/logistics", "API_TOKEN_KEY": "t" * 32,
                           "AUTH_COOKIE_KEY": key})
    assert Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path), "AUTH_COOKIE_KEY": "k" * 32}).cookie_key() == "k" * 32


@pytest.mark.parametrize("days, ok", [("0", True), ("1", True), ("30", True), ("30.5", False), ("365", False),
                                      ("-1", False), ("nan", False), ("inf", False)])
def test_the_cookie_expiry_is_capped_at_30_days(tmp_path, days, ok):
    env = {"LOGISTICS_DATA_DIR": str(tmp_path), "AUTH_COOKIE_EXPIRY_DAYS": days}
    if ok:
        assert Settings.from_env(env).auth_cookie_expiry_days == float(days)
    else:
        with pytest.raises(ConfigError, match="AUTH_COOKIE_EXPIRY_DAYS must be between 0 and 30"):
            Settings.from_env(env)


def test_the_operations_time_zone_and_the_summary_time_are_checked(tmp_path):
    base = {"LOGISTICS_DATA_DIR": str(tmp_path)}
    s = Settings.from_env(base)
    assert (s.timezone, s.daily_summary_time.isoformat(), s.notify_timeout_seconds) == ("America/Sao_Paulo", "07:00:00", 5)
    assert Settings.from_env({**base, "TIMEZONE": "Europe/Lisbon"}).timezone == "Europe/Lisbon"
    for bad in ("Sao Paulo", "America/Nowhere", "../etc/passwd"):
        with pytest.raises(ConfigError, match="TIMEZONE must be a time zone name such as America/Sao_Paulo"):
            Settings.from_env({**base, "TIMEZONE": bad})
    assert Settings.from_env({**base, "DAILY_SUMMARY_TIME": "18:45"}).daily_summary_time.isoformat() == "18:45:00"
    for bad in ("25:00", "7h", "noon"):
        with pytest.raises(ConfigError, match="DAILY_SUMMARY_TIME must be a time of day as HH:MM"):
            Settings.from_env({**base, "DAILY_SUMMARY_TIME": bad})


def test_alert_e_mail_needs_a_sender_and_a_known_encryption(tmp_path):
    base = {"LOGISTICS_DATA_DIR": str(tmp_path), "SMTP_HOST": "mail.example.com"}
    with pytest.raises(ConfigError, match="SMTP_FROM must be set with SMTP_HOST"):
        Settings.from_env(base)
    s = Settings.from_env({**base, "SMTP_FROM": "alerts@example.com", "SMTP_TLS": "ssl", "SMTP_PORT": "465"})
    assert (s.smtp_tls, s.smtp_port) == ("SSL", 465)
    with pytest.raises(ConfigError, match="SMTP_TLS must be STARTTLS, SSL or NONE"):
        Settings.from_env({**base, "SMTP_FROM": "a@example.com", "SMTP_TLS": "tls1.3"})
