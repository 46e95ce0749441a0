"""Deployment files: .env.example documents every compose variable and its placeholders are refused."""
import re

import pytest
import yaml

from core.config import ConfigError, Settings
from tests.conftest import ROOT


def example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def interpolate(template: str, values: dict[str, str]) -> str:
    """A compose value with .env's `values`, as compose does: `${X}`, `${X:?message}`, and `${X:-default}`
    (the default when X is unset or empty), innermost first (a default may hold another)."""
    def one(m: re.Match) -> str:
        name, op, rest = m.group(1), m.group(2), m.group(3)
        return rest if op == ":-" and not values.get(name) else values.get(name, "")

    while True:
        done = re.sub(r"\$\{(\w+)(?:(:[-?])([^${}]*))?\}", one, template)
        if done == template:
            return done
        template = done


def app_env(values: dict[str, str]) -> dict[str, str]:
    """The app service's environment as docker compose builds it from .env (the api service shares it)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {name: interpolate(str(template), values) for name, template in compose["services"]["app"]["environment"].items()}


def test_every_compose_variable_is_documented_in_env_example():
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    assert used - example_env().keys() == set()


def test_the_placeholders_are_refused():
    values = example_env()
    for name, secret in (("API_TOKEN_KEY", "Qm7vX2pL9sR4tW8yZ3nB6cD1fG5hJ0kA"), ("AUTH_COOKIE_KEY", "k3Jx9vQm2LpR7tYw5zNb8cHd4eFg6hJq"),
                         ("APP_DB_PASSWORD", "5f2b9c0e7a1d4e8f9a6b3c2d1e0f9a8b")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env(app_env(values))
        values[name] = secret
    settings = Settings.from_env(app_env(values))
    assert settings.database_url == "postgresql://logistics:5f2b9c0e7a1d4e8f9a6b3c2d1e0f9a8b@db:5432/logistics"
    assert (settings.sla_target, settings.load_workers, settings.log_level) == (0.9, 2, "INFO")


def test_the_api_token_key_placeholder_is_refused():
    with pytest.raises(ConfigError, match="API_TOKEN_KEY"):
        Settings.from_env({"API_TOKEN_KEY": example_env()["API_TOKEN_KEY"]})


def test_the_api_service_shares_the_apps_image_and_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app, api = compose["services"]["app"], compose["services"]["api"]
    assert api["environment"] == app["environment"] and api["build"] == app["build"]
    assert "python -m api" in " ".join(api["command"]) and "/v1/health" in " ".join(api["healthcheck"]["test"])


def test_compose_publishes_on_localhost_and_runs_the_app_without_privileges():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("app", "api"):
        service = services[name]
        assert all(p.startswith("${BIND_ADDRESS:-127.0.0.1}:") for p in service["ports"]), name
        assert service["security_opt"] == ["no-new-privileges:true"] and service["cap_drop"] == ["ALL"]
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
    assert example_env()["BIND_ADDRESS"] == "127.0.0.1"
    db = services["db"]
    assert "no-new-privileges:true" in db["security_opt"] and db["cap_drop"] == ["ALL"]
    assert "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in db["volumes"]


def test_the_app_connects_as_its_own_role_not_the_superuser():
    env = app_env({**example_env(), "APP_DB_PASSWORD": "p" * 32})
    assert env["DATABASE_URL"].startswith("postgresql://logistics:")
    assert example_env()["POSTGRES_USER"] == "postgres" != example_env()["APP_DB_USER"]


def test_the_proxy_of_the_host_is_trusted_by_default_through_the_compose_gateway():
    """Issue 21: with TRUSTED_PROXIES empty, a proxy on the host (seen as the compose network's
    gateway) was not trusted, and every client shared one login throttle bucket."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    values = {**example_env(), **{k: "p" * 32 for k in ("AUTH_COOKIE_KEY", "API_TOKEN_KEY", "APP_DB_PASSWORD")}}
    network = compose["networks"]["default"]["ipam"]["config"][0]
    gateway = interpolate(network["gateway"], values)
    assert gateway == "172.30.0.1" and interpolate(network["subnet"], values) == "172.30.0.0/24"
    assert Settings.from_env(app_env(values)).trusted_proxies == ("127.0.0.1", "::1", gateway)
    moved = {**values, "DOCKER_GATEWAY": "10.9.0.1"}
    assert Settings.from_env(app_env(moved)).trusted_proxies[-1] == "10.9.0.1"
    chosen = {**values, "TRUSTED_PROXIES": "10.0.0.5"}
    assert Settings.from_env(app_env(chosen)).trusted_proxies == ("10.0.0.5",)


def test_the_documented_proxy_sends_the_security_headers_and_the_upload_size():
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    blocks = re.findall(r"location ([^{]+)\{(.*?)\n    \}", nginx, re.S)
    dashboard = {where.strip(): body for where, body in blocks}
    for where in ("/", "/media/"):
        headers = dict(re.findall(r'add_header ([\w-]+) "([^"]+)" always;', dashboard[where]))
        assert {k: headers[k] for k in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy",
                                        "Strict-Transport-Security")} == {
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Content-Security-Policy": "frame-ancestors 'none'", "Strict-Transport-Security": "max-age=31536000"}
    assert 'add_header Cache-Control "no-store" always;' in dashboard["/media/"]  # downloads: personal data
    api = next(body for where, body in blocks if "v1" in where)
    assert "add_header" not in api and "X-Forwarded-Proto $scheme" in api  # the API sends its own (and HSTS)
    streamlit = (ROOT / ".streamlit" / "config.toml").read_text()
    upload_mb = re.search(r"maxUploadSize = (\d+)", streamlit).group(1)
    assert f"client_max_body_size {upload_mb}m;" in nginx
    assert Settings.from_env({}).upload_max_mb == int(upload_mb)
    assert re.search(r"^disableDataExport = true", streamlit, re.M)  # no raw CSV from the tables' toolbar


def test_the_alerts_worker_runs_beside_the_app_with_its_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app, alerts = compose["services"]["app"], compose["services"]["alerts"]
    assert alerts["build"] == app["build"] and "python -m core alerts run" in " ".join(alerts["command"])
    assert app["environment"].items() <= alerts["environment"].items()  # the app's settings, and SMTP_*
    assert {"SMTP_HOST", "SMTP_PASSWORD", "TIMEZONE"} <= alerts["environment"].keys()
    assert "ports" not in alerts and alerts["read_only"] is True
    assert "core alerts run" in (ROOT / "Makefile").read_text()
