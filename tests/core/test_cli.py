"""The command line: users, db, settings; every command and option documents itself."""
import argparse
import io
import json
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa

from core import accounts
from core.cli import build_parser, main
from tests.conftest import ROOT


def run(monkeypatch, capsys, *argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_reads_the_password_from_stdin_and_lists(db, monkeypatch, capsys, settings):
    code, out, _ = run(monkeypatch, capsys, "users", "add", "Bruno", "--role", "analyst", stdin="s3cret-pass\n")
    assert code == 0 and out.strip() == "created bruno (analyst)"
    with db.begin() as conn:
        assert accounts.verify_login(conn, username="bruno", password="s3cret-pass", settings=settings)
    code, out, _ = run(monkeypatch, capsys, "users", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["username", "role", "active", "last", "login", "name"]
    assert [line.split()[:3] for line in lines[1:]] == [["admin", "admin", "yes"], ["bruno", "analyst", "yes"]]


def test_refusals_exit_2_with_the_reason_on_stderr(db, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "users", "add", "xavier", stdin="short\n")
    assert code == 2 and out == "" and err.strip() == "error: The password needs at least 8 characters."
    code, _, err = run(monkeypatch, capsys, "users", "role", "admin", "viewer")
    assert code == 2 and "last active admin" in err


def test_every_command_refuses_with_the_same_exit_code(db, monkeypatch, capsys, tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    refusals = [("load", "services", str(tmp_path / "missing.csv")), ("load", "resume", "999"),
                ("services", "--id", "0"), ("calendar", "remove", "2022-03-01"),
                ("indicators", "sla-polo", "--start", "2022-03-01", "--end", "2022-03-31", "--sort", "speed"),
                ("restore", str(not_a_backup)), ("backup", str(tmp_path / "no-such-dir" / "x.dump")),
                ("users", "role", "nobody", "admin")]
    for argv in refusals:
        code, out, err = run(monkeypatch, capsys, *argv)
        assert (code, out, err.startswith("error: ")) == (2, "", True), argv


def test_role_change_and_deactivation(db, monkeypatch, capsys):
    run(monkeypatch, capsys, "users", "add", "caio", stdin="caio-pass-77\n")
    assert run(monkeypatch, capsys, "users", "role", "caio", "admin")[1].strip() == "caio is now admin"
    assert run(monkeypatch, capsys, "users", "deactivate", "caio")[1].strip() == "caio is now deactivated"


def test_db_upgrade_and_status(db, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "db", "upgrade")
    assert code == 0 and out.strip().endswith("schema already current")
    code, out, _ = run(monkeypatch, capsys, "db", "status")
    assert code == 0 and "pending migrations: none" in out


def _all_parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_command_and_option_has_help():
    for parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing = [c.dest for c in action._choices_actions if not c.help]
                assert missing == [], f"{parser.prog}: commands without help {missing}"
            else:
                assert action.help, f"{parser.prog}: {action.dest} has no help"


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "core", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "users" in result.stdout


def test_readme_documents_every_setting_as_the_cli_prints_it(monkeypatch, capsys):
    code, table, _ = run(monkeypatch, capsys, "settings", "--markdown")
    readme = (ROOT / "README.md").read_text()
    assert code == 0
    missing = [line for line in table.splitlines() if line not in readme]
    assert missing == [], "README configuration table is out of date: python -m core settings --markdown"


def test_api_keys_are_created_printed_once_listed_and_revoked(db, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "users", "key", "create", "nightly export", "--role", "analyst")
    key = out.strip()
    assert code == 0 and key.startswith("lgk_") and out == key + "\n"
    assert err.splitlines() == ["created API key 1 'nightly export' (analyst):",
                                "It is not shown again (only its hash is stored): keep it now."]
    with db.begin() as conn:
        assert accounts.actor_from_api_key(conn, key=key) == accounts.Actor("key:nightly export", "analyst")
    code, out, _ = run(monkeypatch, capsys, "users", "key", "list")
    header, row = out.splitlines()
    assert header.split() == ["id", "role", "prefix", "created", "by", "created", "at", "last", "used",
                              "revoked", "name"]
    fields = row.split()
    assert fields[:4] == ["1", "analyst", key[:12], "cli"]
    assert len(fields) == 11 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", f) for f in (fields[4], fields[6]))
    assert fields[-3:] == ["-", "nightly", "export"]      # never revoked
    code, out, _ = run(monkeypatch, capsys, "users", "key", "revoke", "1")
    assert code == 0 and out.strip() == "revoked API key 1 'nightly export'; it stops working at once"
    with db.connect() as conn:
        assert accounts.actor_from_api_key(conn, key=key) is None
    code, out, err = run(monkeypatch, capsys, "users", "key", "revoke", "1")
    assert code == 2 and out == "" and err.strip() == "error: The API key 1 (nightly export) is already revoked."
    code, _, err = run(monkeypatch, capsys, "users", "key", "create", " ", "--role", "viewer")
    assert code == 2 and err.strip() == "error: The key needs a name (what or who uses it)."


def test_db_compact_search_compacts_and_reports(db, monkeypatch, capsys):
    with db.begin() as conn:  # 25 bytes in 2 blocks: 'ana@x.com', 'ana\nana maria' and 'bia'
        conn.execute(sa.text("INSERT INTO customers (id, nome, email) VALUES (5, 'Ana', 'ana@x.com'), "
                             "(6, 'Bia', NULL)"))
        conn.execute(sa.text("UPDATE customers SET nome = 'Ana Maria' WHERE id = 5"))
    code, out, err = run(monkeypatch, capsys, "db", "compact-search")
    assert code == 0
    assert re.fullmatch(r"compacted the customers' search blocks in \d+\.\d\d s: 2 blocks \(2 before\), "
                        r"21 bytes of text \(25 before, 16% less\)\n", out), out
    code, out, _ = run(monkeypatch, capsys, "db", "compact-search", "--json")
    figures = json.loads(out)
    assert code == 0 and figures.pop("seconds") >= 0
    assert figures == {"blocks_before": 2, "blocks_after": 2, "bytes_before": 21, "bytes_after": 21}
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE username = 'cli' AND entity = 'database' "
                                   "AND entity_id = 'customer_search_blocks'")) == 2
    with pytest.raises(SystemExit) as exit:  # argparse's refusal: the same exit code 2
        main(["db", "compact-search", "--bogus"])
    assert exit.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
