"""Settings are validated at start, with plain messages."""
import pytest

from core.config import SETTINGS, ConfigError, Settings


def test_defaults_give_embedded_mode(tmp_path):
    s = Settings.from_env({"LOGISTICS_DATA_DIR": str(tmp_path)})
    assert s.embedded and s.sla_target == 0.9 and s.admin_username == "admin"
    assert s.load_workers == 2 and not s.allow_signup


def test_external_database_needs_a_real_cookie_key():
    url = {"DATABASE_URL": "postgresql://u:p@db/logistics"}
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


def test_every_setting_has_help_and_a_field():
    fields = set(Settings.__dataclass_fields__)
    for name, _default, help_text in SETTINGS:
        assert help_text.strip(), name
    assert len(SETTINGS) == len(fields)
