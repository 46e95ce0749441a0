"""The API's contract, fuzzed: schemathesis runs over the API's own /openapi.json with every check
on, as an admin and as a viewer, against `python -m api` on the tests' real database. It fails on
any 500, any answer the schema does not describe, any schema-valid request refused or schema-invalid
one accepted (docs/security.md; configuration: tests/api/schemathesis.toml)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT

CONFIG = Path(__file__).with_name("schemathesis.toml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api_server(db, test_env, tmp_path):
    """`python -m api` on the tests' database, in its own process (as deployed)."""
    port = _free_port()
    env = {**os.environ, **test_env, "LOG_LEVEL": "ERROR", "LOGISTICS_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/health", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(f"the API did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield url
    with db.connect() as conn:  # let the loads the fuzz started end before the tables are emptied
        for _ in range(600):
            if not conn.scalar(sa.text("SELECT count(*) FROM load_jobs WHERE status IN ('queued', 'running')")):
                break
            time.sleep(0.1)
            conn.rollback()
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_api_keeps_its_contract_under_fuzzing(api_server, db, role):
    from core import accounts

    with db.begin() as conn:  # an API key: fuzzed requests cannot end it as they could a login
        _, key = accounts.create_api_key(conn, actor=accounts.CLI_ACTOR, name=f"fuzz {role}", role=role)
    args = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{api_server}/openapi.json",
            "--checks", "all", "-H", f"Authorization: Bearer {key}", "--no-color", "--workers", "1"]
    if os.environ.get("FUZZ_SEED"):
        args += ["--seed", os.environ["FUZZ_SEED"]]
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
