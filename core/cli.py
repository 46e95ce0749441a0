"""Command line: `python -m core COMMAND ...`. Every command and option has help text."""
from __future__ import annotations

import argparse
import getpass
import sys

from core import accounts
from core.config import SETTINGS, ConfigError, load_settings
from core.db import describe_url, get_engine, migrate, pending_migrations


def _read_password(prompt: str) -> str:
    """Password from a piped stdin (first line) or an interactive prompt asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat it: ") != first:
        raise accounts.AccountError("The two passwords differ.")
    return first


# --- db ---------------------------------------------------------------------------------------

def cmd_db_upgrade(args) -> int:
    settings = load_settings()
    engine = get_engine(settings, migrate_schema=False)
    applied = migrate(engine)
    from core.prestart import prestart
    prestart(settings)
    print(f"{describe_url(str(engine.url))}: " + (f"applied {', '.join(applied)}" if applied
                                                   else "schema already current"))
    return 0


def cmd_db_status(args) -> int:
    engine = get_engine(load_settings(), migrate_schema=False)
    with engine.connect() as conn:
        pending = pending_migrations(conn)
    print(f"database: {describe_url(str(engine.url))}")
    print("pending migrations: " + (", ".join(pending) if pending else "none"))
    return 1 if pending else 0


# --- users ------------------------------------------------------------------------------------

def cmd_users_add(args) -> int:
    settings = load_settings()
    password = _read_password(f"Password for {args.username}: ")
    with get_engine(settings).begin() as conn:
        user = accounts.create_user(conn, actor=accounts.CLI_ACTOR, username=args.username,
                                    password=password, role=args.role, name=args.name,
                                    email=args.email, rounds=settings.password_hash_rounds)
    print(f"created {user.username} ({user.role})")
    return 0


def cmd_users_list(args) -> int:
    with get_engine(load_settings()).connect() as conn:
        users = accounts.list_users(conn)
    print(f"{'username':<20} {'role':<8} {'active':<6} {'last login':<19} name")
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
        print(f"{u.username:<20} {u.role:<8} {'yes' if u.active else 'no':<6} {last:<19} {u.name}")
    return 0


def cmd_users_passwd(args) -> int:
    settings = load_settings()
    password = _read_password(f"New password for {args.username}: ")
    with get_engine(settings).begin() as conn:
        accounts.reset_password(conn, actor=accounts.CLI_ACTOR, username=args.username,
                                password=password, rounds=settings.password_hash_rounds)
    print(f"password changed for {args.username}; lockout cleared")
    return 0


def cmd_users_role(args) -> int:
    with get_engine(load_settings()).begin() as conn:
        user = accounts.set_role(conn, actor=accounts.CLI_ACTOR, username=args.username, role=args.role)
    print(f"{user.username} is now {user.role}")
    return 0


def cmd_users_active(args) -> int:
    active = args.command_name == "activate"
    with get_engine(load_settings()).begin() as conn:
        user = accounts.set_active(conn, actor=accounts.CLI_ACTOR, username=args.username, active=active)
    print(f"{user.username} is now {'active' if user.active else 'deactivated'}")
    return 0


# --- settings ---------------------------------------------------------------------------------

def cmd_settings(args) -> int:
    if args.markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for name, default, help_text in SETTINGS:
            print(f"| `{name}` | {f'`{default}`' if default is not None else '(unset)'} | {help_text} |")
        return 0
    settings = load_settings()
    for name, default, help_text in SETTINGS:
        print(f"{name}\n    default: {default if default is not None else '(unset)'}\n    {help_text}")
    print(f"\nin effect: {'embedded PostgreSQL in ' + str(settings.data_dir) if settings.embedded else 'DATABASE_URL'}")
    return 0


# --- operations: doctor, backup, restore --------------------------------------------------------

def cmd_doctor(args) -> int:
    from core import operations, telemetry

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"FAIL  configuration: {exc}")
        return 1
    print(f"ok    configuration: {'embedded PostgreSQL in ' + str(settings.data_dir) if settings.embedded else 'DATABASE_URL'}")
    try:
        engine = get_engine(settings, migrate_schema=False)
    except Exception:  # only an embedded server that cannot start; its check below says why
        engine = None
    checks = operations.health(settings, engine)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    if not all(c.ok for c in checks):
        telemetry.stop_persisting_timings()  # nowhere to write them
        return 1
    return 0


def cmd_backup(args) -> int:
    from core.backup import BackupError, backup

    try:
        report = backup(load_settings(), args.path, actor=accounts.CLI_ACTOR)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {report.services:,} services and {report.customers:,} customers to {report.path} "
          f"({report.bytes / 2**20:.1f} MB in {report.seconds:.1f} s)")
    return 0


def cmd_restore(args) -> int:
    from core.backup import BackupError, restore

    try:
        report = restore(load_settings(), args.path, actor=accounts.CLI_ACTOR, force=args.force)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {report.services:,} services, {report.customers:,} customers and {report.users} "
          f"users from {report.path} in {report.seconds:.1f} s")
    return 0


def _start_telemetry() -> None:
    """JSON logs at LOG_LEVEL, and this run's timings kept for the monitoring page."""
    from core import telemetry

    try:
        settings = load_settings()
    except ConfigError:  # the command reports the bad setting itself
        telemetry.configure_logging("INFO")
        return
    telemetry.configure_logging(settings.log_level)
    telemetry.persist_timings(settings, source="cli", background=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Logistics indicators: database, users, loads and reports.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True,
                                                                      metavar="ACTION")
    db.add_parser("upgrade", help="apply pending migrations and create the first admin"
                  ).set_defaults(func=cmd_db_upgrade)
    db.add_parser("status", help="show the database and pending migrations (exit 1 if any)"
                  ).set_defaults(func=cmd_db_status)

    users = sub.add_parser("users", help="manage accounts").add_subparsers(dest="users_command",
                                                                           required=True, metavar="ACTION")
    add = users.add_parser("add", help="create a user (password from stdin or a prompt)")
    add.add_argument("username", help="login name (stored lower-case)")
    add.add_argument("--role", choices=accounts.ROLES, default="viewer",
                     help="viewer reads, analyst also loads and edits, admin does everything (default viewer)")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--email", help="email address (optional)")
    add.set_defaults(func=cmd_users_add)
    users.add_parser("list", help="list users with role and last login").set_defaults(func=cmd_users_list)
    passwd = users.add_parser("passwd", help="set a new password (stdin or prompt) and clear a lockout")
    passwd.add_argument("username", help="whose password")
    passwd.set_defaults(func=cmd_users_passwd)
    role = users.add_parser("role", help="change a user's role")
    role.add_argument("username", help="whose role")
    role.add_argument("role", choices=accounts.ROLES, help="the new role")
    role.set_defaults(func=cmd_users_role)
    for name, text in (("deactivate", "stop a user from logging in"), ("activate", "let a user log in again")):
        p = users.add_parser(name, help=text)
        p.add_argument("username", help="which user")
        p.set_defaults(func=cmd_users_active, command_name=name)

    settings_parser = sub.add_parser("settings", help="list every setting with its default and help")
    settings_parser.add_argument("--markdown", action="store_true", help="print the table for the README")
    settings_parser.set_defaults(func=cmd_settings)

    sub.add_parser("doctor", help="check every part (database reachable, migrations current, data dir "
                   "writable, embedded server); exit 1 if one fails").set_defaults(func=cmd_doctor)
    backup = sub.add_parser("backup", help="dump the whole database to a file (pg_dump custom format)")
    backup.add_argument("path", help="file to write, e.g. backups/logistics-2026-11-28.dump")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="replace the whole database with a backup, in one transaction")
    restore.add_argument("path", help="a file written by `python -m core backup`")
    restore.add_argument("--force", action="store_true",
                         help="overwrite a database that already holds services or customers")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _start_telemetry()
    try:
        return args.func(args)
    except (ConfigError, accounts.AccountError, accounts.PermissionDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        from core.telemetry import flush_timings

        flush_timings()  # before exit: the embedded server may stop with the process
