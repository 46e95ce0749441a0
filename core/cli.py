"""Command line: `python -m core COMMAND ...`. Every command and option has help text.

Exit codes: 0 done; 1 a check failed (doctor, db status); 2 the request was refused (a bad value,
a missing file, a rule of core): `error: <why>` on stderr, nothing on stdout. Commands raise the
refusal; main() prints it and exits with the code the error's class says (`exit_code`, e.g.
core.messages.TextError's).
"""
from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import contextmanager
from datetime import date, datetime
from typing import Iterator

from sqlalchemy.engine import Connection

from core import accounts, exports
from core.config import SETTINGS, ConfigError, load_settings
from core.db import describe_url, get_engine, migrate, pending_migrations
from core.definitions import STATUSES
from core.messages import N_, TextError


CHECK_FAILED = 1
REFUSED = TextError.exit_code  # every error whose message is for the user says its exit code


class Refused(Exception):
    """A request the CLI itself refuses (a value core's checks reject with a plain ValueError); the
    message is for the user."""

    exit_code = REFUSED


def _refusals() -> tuple[type[Exception], ...]:
    """The errors whose message is for the user, each with its `exit_code`: core's (TextError), the
    settings' and a backup's (imported only when an error happened)."""
    from core.backup import BackupError

    return TextError, ConfigError, BackupError, Refused


@contextmanager
def _database(*, write: bool = False) -> Iterator[Connection]:
    """A connection to this run's database (its settings from the environment; core.db.get_engine
    keeps one engine per database, the schema migrated), in one transaction when `write`."""
    engine = get_engine(load_settings())
    with (engine.begin() if write else engine.connect()) as conn:
        yield conn


def _print_table(rows: list[dict], columns: dict[str, str]) -> None:
    """Rows as a plain-text table: a line of headings (`columns`: key -> heading), then a line per
    row, each column as wide as its widest value, `-` for a missing one."""
    cells = [[_cell(row[key]) for key in columns] for row in rows]
    widths = [max(len(heading), *(len(line[i]) for line in cells)) for i, heading in enumerate(columns.values())]
    for line in [list(columns.values()), *cells]:
        print("  ".join(f"{cell:<{width}}" for cell, width in zip(line, widths)).rstrip())


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _read_password(prompt: str) -> str:
    """Password from a piped stdin (first line) or an interactive prompt asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat it: ") != first:
        raise accounts.AccountError(N_("The two passwords differ."))
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
    return CHECK_FAILED if pending else 0


def cmd_db_compact_search(args) -> int:
    import json
    from dataclasses import asdict

    from core import records

    with _database(write=True) as conn:
        done = records.compact_search_blocks(conn, actor=accounts.CLI_ACTOR)
    if args.json:
        print(json.dumps(asdict(done)))
        return 0
    saved = f", {1 - done.bytes_after / done.bytes_before:.0%} less" if done.bytes_before else ""
    print(f"compacted the customers' search blocks in {done.seconds:.2f} s: {done.blocks_after:,} blocks "
          f"({done.blocks_before:,} before), {done.bytes_after:,} bytes of text ({done.bytes_before:,} "
          f"before{saved})")
    return 0


# --- users ------------------------------------------------------------------------------------

def cmd_users_add(args) -> int:
    settings = load_settings()
    password = _read_password(f"Password for {args.username}: ")
    with _database(write=True) as conn:
        user = accounts.create_user(conn, actor=accounts.CLI_ACTOR, username=args.username,
                                    password=password, role=args.role, name=args.name,
                                    email=args.email, rounds=settings.password_hash_rounds)
    print(f"created {user.username} ({user.role})")
    return 0


def cmd_users_list(args) -> int:
    with _database() as conn:
        users = accounts.list_users(conn)
    _print_table([vars(u) for u in users], {"username": "username", "role": "role", "active": "active",
                                            "last_login_at": "last login", "name": "name"})
    return 0


def cmd_users_passwd(args) -> int:
    settings = load_settings()
    password = _read_password(f"New password for {args.username}: ")
    with _database(write=True) as conn:
        accounts.reset_password(conn, actor=accounts.CLI_ACTOR, username=args.username,
                                password=password, rounds=settings.password_hash_rounds)
    print(f"password changed for {args.username}; lockout cleared")
    return 0


def cmd_users_role(args) -> int:
    with _database(write=True) as conn:
        user = accounts.set_role(conn, actor=accounts.CLI_ACTOR, username=args.username, role=args.role)
    print(f"{user.username} is now {user.role}")
    return 0


def cmd_users_active(args) -> int:
    active = args.command_name == "activate"
    with _database(write=True) as conn:
        user = accounts.set_active(conn, actor=accounts.CLI_ACTOR, username=args.username, active=active)
    print(f"{user.username} is now {'active' if user.active else 'deactivated'}")
    return 0


def cmd_users_key(args) -> int:
    if args.key_command == "create":
        with _database(write=True) as conn:
            key, plain = accounts.create_api_key(conn, actor=accounts.CLI_ACTOR, name=args.name, role=args.role,
                                                 expires_days=args.expires_days)
        # The key alone on stdout (KEY=$(python -m core users key create ...)); the rest on stderr.
        print(f"created API key {key.id} {key.name!r} ({key.role}):", file=sys.stderr)
        print(plain)
        print("It is not shown again (only its hash is stored): keep it now.", file=sys.stderr)
    elif args.key_command == "revoke":
        with _database(write=True) as conn:
            key = accounts.revoke_api_key(conn, actor=accounts.CLI_ACTOR, id=args.id)
        print(f"revoked API key {key.id} {key.name!r}; it stops working at once")
    else:
        with _database() as conn:
            keys = accounts.list_api_keys(conn)
        _print_table([vars(k) for k in keys], {"id": "id", "role": "role", "prefix": "prefix", "created_by": "created by",
                                               "created_at": "created at", "last_used_at": "last used",
                                               "revoked_at": "revoked", "name": "name"})
    return 0


# --- settings ---------------------------------------------------------------------------------

def cmd_settings(args) -> int:
    if args.markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for s in SETTINGS:
            print(f"| `{s.name}` | {f'`{s.default}`' if s.default is not None else '(unset)'} | {s.help} |")
        return 0
    settings = load_settings()
    for s in SETTINGS:
        print(f"{s.name}\n    default: {s.default if s.default is not None else '(unset)'}\n    {s.help}")
    print(f"\nin effect: {'embedded PostgreSQL in ' + str(settings.data_dir) if settings.embedded else 'DATABASE_URL'}")
    return 0


# --- operations: doctor, backup, restore --------------------------------------------------------

def cmd_doctor(args) -> int:
    from core import operations, telemetry

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"FAIL  configuration: {exc}")
        return CHECK_FAILED
    print(f"ok    configuration: {'embedded PostgreSQL in ' + str(settings.data_dir) if settings.embedded else 'DATABASE_URL'}")
    try:
        engine = get_engine(settings, migrate_schema=False)
    except Exception:  # only an embedded server that cannot start; its check below says why
        engine = None
    checks = operations.health(settings, engine=engine)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    if not all(c.ok for c in checks):
        telemetry.stop_persisting_timings()  # nowhere to write them
        return CHECK_FAILED
    return 0


def cmd_backup(args) -> int:
    from core.backup import backup

    report = backup(load_settings(), path=args.path, actor=accounts.CLI_ACTOR)
    print(f"backed up {report.services:,} services and {report.customers:,} customers to {report.path} "
          f"({report.bytes / 2**20:.1f} MB in {report.seconds:.1f} s)")
    return 0


def cmd_restore(args) -> int:
    from core.backup import restore

    report = restore(load_settings(), path=args.path, actor=accounts.CLI_ACTOR, force=args.force)
    print(f"restored {report.services:,} services, {report.customers:,} customers and {report.users} "
          f"users from {report.path} (sha256 {report.sha256}) in {report.seconds:.1f} s")
    return 0


# --- indicators and calendar ------------------------------------------------------------------

_SLA_FIELDS = ("polo", "total", "on_time", "late", "not_visited", "sla")
_SLA_ANGEL_FIELDS = ("polo", "angel", "total", "on_time", "late", "not_visited", "sla")
_PRODUCTIVITY_FIELDS = ("angel", "polo", "visits", "business_days", "productivity", "worked_days",
                        "visits_per_worked_day", "avg_slack_days")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def _indicator_rows(conn, args) -> tuple[list[dict], tuple[str, ...]] | None:
    """Run the requested indicator; None when the database holds no services."""
    from core import indicators
    from core.definitions import Period
    from core.operation_day import today

    known = indicators.data_range(conn)
    if known.empty and not (args.start and args.end):
        return None
    settings = load_settings()
    period = Period(args.start or known.first, args.end or known.last)
    common = dict(period=period, polo=args.polo, angel=args.angel, descending=not args.asc,
                  as_of=args.as_of or today(settings))
    if args.indicator == "productivity":
        rows = indicators.productivity(conn, sort=args.sort or "productivity", country=settings.holiday_country,
                                       **common)
        fields = _PRODUCTIVITY_FIELDS
    elif args.indicator == "sla-angel":
        rows, fields = indicators.sla_by_angel(conn, sort=args.sort or "sla", **common), _SLA_ANGEL_FIELDS
    else:
        rows, fields = indicators.sla_by_polo(conn, sort=args.sort or "sla", **common), _SLA_FIELDS
    out = [{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
           for row in indicators.as_dicts(rows, fields)]
    return out, fields


def cmd_indicators(args) -> int:
    import json

    try:
        with _database() as conn:
            result = _indicator_rows(conn, args)
    except ValueError as exc:  # bad sort field, start after end
        raise Refused(str(exc)) from None
    if result is None:
        print("No services in the database yet: load the services file first.", file=sys.stderr)
        rows, fields = [], ()
    else:
        rows, fields = result
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif args.csv:
        if fields:
            exports.write_csv(sys.stdout, rows, fields)
    elif rows:
        _print_table(rows, {f: f for f in fields})
    elif result is not None:
        print("No services in this period.")
    return 0


def cmd_calendar(args) -> int:
    from core import calendar
    from core.definitions import Period

    settings = load_settings()
    if args.calendar_command == "add":
        with _database(write=True) as conn:
            day = calendar.add_non_working_day(conn, actor=accounts.CLI_ACTOR, day=args.day,
                                                 reason=args.reason)
        print(f"{day.day.isoformat()} is now a non-working day ({day.reason})")
    elif args.calendar_command == "remove":
        with _database(write=True) as conn:
            calendar.remove_non_working_day(conn, actor=accounts.CLI_ACTOR, day=args.day)
        print(f"{args.day} is a business day again (unless a weekend or a national holiday)")
    else:
        with _database() as conn:
            added = calendar.non_working_days(conn)
        if args.year:
            year = Period(date(args.year, 1, 1), date(args.year, 12, 31))
            for day, name in sorted(calendar.national_holidays(year, country=settings.holiday_country).items()):
                print(f"{day.isoformat()}  national holiday ({settings.holiday_country})  {name}")
        for d in added:
            print(f"{d.day.isoformat()}  non-working day, added by {d.added_by}  {d.reason}")
        if not added:
            print("No non-working days added (national holidays are always off; --year Y lists them).")
    return 0


def _add_indicator_parsers(sub) -> None:
    ind = sub.add_parser("indicators", help="SLA by polo or angel, productivity by angel")
    ind.add_argument("indicator", choices=("sla-polo", "sla-angel", "productivity"),
                     help="which indicator (definitions: core/definitions.py, core/indicators.py)")
    ind.add_argument("--start", type=_day, help="first day of the period, YYYY-MM-DD (default: first day with data)")
    ind.add_argument("--end", type=_day, help="last day of the period, inclusive (default: last day with data)")
    ind.add_argument("--polo", help="only this polo, e.g. 'RJ - SÃO GONÇALO'")
    ind.add_argument("--angel", help="only this Green Angel")
    ind.add_argument("--sort", help="sort field: total, total_sla (on-time count), avg_time (average slack), "
                     "the indicator itself (sla / productivity, the default) or any output column")
    ind.add_argument("--asc", action="store_true", help="ascending order (default: descending)")
    ind.add_argument("--as-of", type=_day, default=None,
                     help="judge open vs not visited as of this day (default: today in TIMEZONE)")
    fmt = ind.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print a JSON list of objects (locale-neutral: decimal point, ISO dates)")
    fmt.add_argument("--csv", action="store_true",
                     help="print CSV with a header line (locale-neutral machine format: comma separator, decimal "
                          "point, ISO dates, English header; the dashboard's CSV follows the user's language)")
    ind.set_defaults(func=cmd_indicators)

    cal = sub.add_parser("calendar", help="non-working days beyond the national holidays (e.g. Carnival)"
                         ).add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    lst = cal.add_parser("list", help="list the non-working days an admin added")
    lst.add_argument("--year", type=int, help="also list that year's national holidays")
    lst.set_defaults(func=cmd_calendar)
    add = cal.add_parser("add", help="make a day non-working (productivity counts one business day less)")
    add.add_argument("day", help="the day, YYYY-MM-DD")
    add.add_argument("--reason", required=True, help="why the operation stops, e.g. Carnaval")
    add.set_defaults(func=cmd_calendar)
    rm = cal.add_parser("remove", help="make an added non-working day a business day again")
    rm.add_argument("day", help="the day, YYYY-MM-DD")
    rm.set_defaults(func=cmd_calendar)


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


# --- loading and demo files (issue 3) ---------------------------------------------------------

def _progress_printer():
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from core import loading

    def show(job: loading.LoadJob) -> None:
        bar = "#" * int(job.progress * 30)
        print(f"\r[{bar:<30}] {job.progress:4.0%} {job.doing:<60}", end="", file=sys.stderr, flush=True)
    return show


def _print_report(report, as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False, default=str))
        return
    print(f"\nload {report.job_id}: {report.file_name} ({report.kind}; {report.encoding}, '{report.delimiter}')")
    print(f"  rows {report.rows:,} = inserted {report.inserted:,} + updated {report.updated:,} "
          f"+ unchanged {report.unchanged:,} + rejected {report.rejected:,}")
    if report.duplicates:
        print(f"  of the rejected, {report.duplicates:,} were ids repeated later in the file")
    if report.kind == "services":
        print(f"  customers created as stubs (known only by id): {report.stub_customers:,}")
    else:
        print(f"  stub customers filled in: {report.stubs_filled:,}")
    print(f"  {report.seconds:.2f} s, {report.rows_per_second:,.0f} rows/s")
    for r in report.rejects[:10]:
        print(f"  line {r['line']}: {r['reason']}")
    if report.rejected > 10:
        print(f"  ... all rejected lines: the Upload page, or `python -m core load rejects {report.job_id}`")


def cmd_load(args) -> int:
    from core import loading

    settings = load_settings()
    engine = get_engine(settings)
    if args.load_command == "resume":
        report = loading.resume_job(engine, job_id=args.job_id, actor=accounts.CLI_ACTOR, settings=settings,
                                    on_progress=_progress_printer())
    else:
        report = loading.load_file(engine, path=args.path, kind=args.load_command, actor=accounts.CLI_ACTOR,
                                   settings=settings, on_progress=_progress_printer())
    _print_report(report, args.json)
    return 0


def cmd_load_jobs(args) -> int:
    from core import loading

    with _database() as conn:
        jobs = loading.list_jobs(conn, limit=args.limit)
    _print_table([{**vars(j), "seconds": round(j.speed.seconds or 0, 2)} for j in jobs], {
        "id": "id", "kind": "kind", "status": "status", "rows_read": "rows", "inserted": "inserted",
        "updated": "updated", "rejected": "rejected", "seconds": "seconds", "file_name": "file"})
    return 0


def cmd_load_rejects(args) -> int:
    from core import loading

    with _database() as conn:
        sys.stdout.write(loading.rejects_csv(conn, job_id=args.job_id))
    return 0


def cmd_demo(args) -> int:
    from core import demo

    from core.operation_day import today

    dates = demo.HISTORICAL if args.historical else demo.live(args.today or today(load_settings()))
    files = demo.write_demo(args.out, dates=dates, rows=args.rows, seed=args.seed)
    print(f"wrote {files.services} ({files.services_rows:,} services) and {files.customers} "
          f"({files.customers_rows:,} customers); deadlines {dates.first}..{dates.last}"
          + (f", visits up to {dates.today} (its morning)" if dates.today else ", every visit done"))
    print(f"load them with:\n  python -m core load services {files.services}\n"
          f"  python -m core load customers {files.customers}")
    return 0


def _add_loading_parsers(sub) -> None:
    load = sub.add_parser("load", help="load the operation's CSV files; list, resume and inspect loads"
                          ).add_subparsers(dest="load_command", required=True, metavar="ACTION")
    for kind, text in (("services", "load the services export (bd_desafio.csv)"),
                       ("customers", "load the customers file (customers_data.csv)")):
        p = load.add_parser(kind, help=text)
        p.add_argument("path", help="the CSV file (';' or ',' separated, UTF-8 or Windows-1252)")
        p.add_argument("--json", action="store_true", help="print one JSON object with the figures")
        p.set_defaults(func=cmd_load)
    resume = load.add_parser("resume", help="finish an interrupted or failed load, without duplicates")
    resume.add_argument("job_id", type=int, help="the load's number (see `load jobs`)")
    resume.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    resume.set_defaults(func=cmd_load)
    jobs = load.add_parser("jobs", help="list recent loads with their figures")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    jobs.set_defaults(func=cmd_load_jobs)
    rejects = load.add_parser("rejects", help="print a load's rejected lines as CSV (line;reason;raw)")
    rejects.add_argument("job_id", type=int, help="the load's number (see `load jobs`)")
    rejects.set_defaults(func=cmd_load_rejects)

    demo = sub.add_parser("demo", help="write realistic demo services and customers files")
    demo.add_argument("--out", required=True, help="directory to write bd_desafio.csv and customers_data.csv to")
    demo.add_argument("--rows", type=int, default=20_000, help="services rows (default 20000; the real "
                      "export has 1048575)")
    demo.add_argument("--seed", type=int, default=42, help="random seed: the same seed (and dates) writes the same files")
    when = demo.add_mutually_exclusive_group()
    when.add_argument("--today", type=_day, help="the live day, YYYY-MM-DD (default: today in TIMEZONE): deadlines end a few "
                      "days after it, no visit after it, its own visits only in the morning")
    when.add_argument("--historical", action="store_true",
                      help="the real export's deadlines, 2021-06-30..2022-06-03, every visit done (the benchmarks' data)")
    demo.set_defaults(func=cmd_demo)


# --- records: customers, services, audit (issue 5) --------------------------------------------

def _print_rows(rows: list[dict], fields: tuple[str, ...]) -> None:
    """Rows as `;`-separated CSV with a header (the operation's own format), neutralised (core.exports)."""
    exports.write_csv(sys.stdout, rows, fields, delimiter=";")


def cmd_records(args) -> int:
    from dataclasses import asdict

    from core import audit, records
    from core.operation_day import today

    as_of = today(load_settings())
    with _database() as conn:
        if args.command == "audit":
            entries, total = audit.find_audit(conn, filters=audit.AuditFilter(
                username=args.user, entity=args.entity, entity_id=args.id, since=args.since,
                until=args.until), limit=args.limit)
            rows = [{**asdict(e), "changes": ", ".join(e.changes()) if e.action == "update" else ""}
                    for e in entries]
            more = False  # newest first; narrow with --since/--until rather than paging
            fields = ("id", "at", "username", "action", "entity", "entity_id", "changes")
        elif args.command == "services":
            filters = records.ServiceFilter(
                id=args.id, id_cliente=args.customer, polo=args.polo, angel=args.angel, status=args.status,
                deadline_from=args.deadline_from, deadline_to=args.deadline_to,
                visit_from=args.visit_from, visit_to=args.visit_to)
            found, total = records.find_services(conn, filters=filters, after=args.after, limit=args.limit,
                                                 as_of=as_of)
            more = bool(found) and bool(records.list_services(conn, filters=filters, after=found[-1].id,
                                                               limit=1, as_of=as_of))
            rows, fields = [asdict(r) for r in found], ("id", "id_cliente", "angel", "polo", "data_limite",
                                                        "data_de_atendimento", "status")
        else:
            filters = records.CustomerFilter(id=args.id, nome=args.name, email=args.email,
                                             telefone=args.phone)
            found, total = records.find_customers(conn, filters=filters, after=args.after, limit=args.limit)
            more = bool(found) and bool(records.list_customers(conn, filters=filters, after=found[-1].id,
                                                                limit=1))
            rows, fields = [asdict(r) for r in found], ("id", "nome", "email", "telefone", "is_stub")
    _print_rows(rows, fields)
    print(f"{len(rows)} of {total} shown" + (f"; next page: --after {rows[-1]['id']}" if more else ""),
          file=sys.stderr)
    return 0


def _add_records_parsers(sub) -> None:
    def paging(p) -> None:
        p.add_argument("--limit", type=int, default=50, help="rows to print (default 50, at most 1000)")
        p.add_argument("--after", type=int, help="start after this id (keyset paging: the last id printed)")

    svc = sub.add_parser("services", help="find services (`;` CSV on stdout, the count on stderr)")
    svc.add_argument("--id", type=int, help="one service (id_atendimento)")
    svc.add_argument("--customer", type=int, help="the services of one customer (id_cliente)")
    svc.add_argument("--polo", help="exact polo, e.g. 'RJ - SAO GONÇALO'")
    svc.add_argument("--angel", help="exact angel name")
    svc.add_argument("--status", choices=STATUSES, help="status as of today (in TIMEZONE)")
    for name, text in (("deadline-from", "deadline on or after"), ("deadline-to", "deadline on or before"),
                       ("visit-from", "visited on or after"), ("visit-to", "visited on or before")):
        svc.add_argument(f"--{name}", type=_day, help=f"{text} this day (YYYY-MM-DD)")
    paging(svc)
    svc.set_defaults(func=cmd_records)

    cus = sub.add_parser("customers", help="find customers (text matches anywhere, ignoring case and accents)")
    cus.add_argument("--id", type=int, help="one customer (id_cliente)")
    cus.add_argument("--name", help="name contains")
    cus.add_argument("--email", help="email contains")
    cus.add_argument("--phone", help="phone contains (digits)")
    paging(cus)
    cus.set_defaults(func=cmd_records)

    aud = sub.add_parser("audit", help="the audit log, newest first: who changed what")
    aud.add_argument("--user", help="only this username")
    aud.add_argument("--entity", help="customer, service, user, services (loads), ...")
    aud.add_argument("--id", help="only this record id")
    aud.add_argument("--since", type=_day, help="from this day (YYYY-MM-DD)")
    aud.add_argument("--until", type=_day, help="to this day, inclusive (YYYY-MM-DD)")
    aud.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    aud.set_defaults(func=cmd_records)


# --- alerts (issue 22) -------------------------------------------------------------------------

def _webhook(value: str | None) -> str | None:
    """`-` reads the webhook's URL from stdin, so it stays out of the shell history and the process list."""
    return sys.stdin.readline().strip() if value == "-" else value


def _print_outcomes(outcomes) -> None:
    for o in outcomes:
        print(f"  {o.channel} {o.target}: " + ("delivered" if o.delivered else f"failed: {o.error}"))


def cmd_alerts(args) -> int:
    import logging

    from core import alerts, telemetry

    settings = load_settings()
    engine = get_engine(settings)
    actor = accounts.CLI_ACTOR
    if args.alerts_command == "run":
        import signal
        import threading

        telemetry.configure_logging(settings.log_level)
        logging.getLogger(__name__).info("alerts worker started (every %s s)", args.interval)
        stop = threading.Event()  # SIGTERM (docker stop) and Ctrl-C end the round in progress, then stop
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            alerts.Worker(engine, settings=settings, interval=args.interval).run(stop=stop, once=args.once)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    elif args.alerts_command == "add":
        with engine.begin() as conn:
            rule = alerts.create_rule(conn, actor=actor, name=args.name, kind=args.kind, polo=args.polo,
                                      threshold=args.threshold, open_limit=args.open_limit, at_time=args.at,
                                      webhook_url=_webhook(args.webhook), emails=args.email or ())
        print(f"created alert rule {rule.id} {rule.name!r} ({rule.kind})")
    elif args.alerts_command in ("enable", "disable"):
        with engine.begin() as conn:
            rule = alerts.set_active(conn, actor=actor, id=args.id, active=args.alerts_command == "enable")
        print(f"alert rule {rule.id} {rule.name!r} is now {'on' if rule.active else 'off'}")
    elif args.alerts_command == "remove":
        with engine.begin() as conn:
            alerts.delete_rule(conn, actor=actor, id=args.id)
        print(f"removed alert rule {args.id} (its history stays)")
    elif args.alerts_command == "test":
        outcomes = alerts.send_test(engine, settings=settings, actor=actor, id=args.id)
        print(f"test of alert rule {args.id}:")
        _print_outcomes(outcomes)
        return 0 if all(o.delivered for o in outcomes) else CHECK_FAILED
    elif args.alerts_command == "history":
        with engine.connect() as conn:
            firings = alerts.list_firings(conn, actor=actor, limit=args.limit)
        for f in firings:
            print(f"{f.fired_at:%Y-%m-%d %H:%M} {'test ' if f.test else ''}{f.rule_name!r} {f.subject or '-'} "
                  f"by {f.triggered_by}" + (f" (cleared {f.cleared_at:%H:%M})" if f.cleared_at else ""))
            for d in f.deliveries:
                print(f"  {d.channel} {d.target}: {d.status}, {d.attempts} attempt(s)"
                      + (f", last error: {d.last_error}" if d.last_error else ""))
    else:
        with engine.connect() as conn:
            rules = alerts.list_rules(conn, actor=actor)
        for r in rules:
            what = {"sla_below": f"SLA < {r.threshold if r.threshold is not None else settings.sla_target}",
                    "open_due_today": f"> {r.open_limit} open due today from {r.at_time}",
                    "load_failed": "a load failed or was interrupted",
                    "daily_summary": f"daily at {settings.daily_summary_time:%H:%M}"}[r.kind]
            to = ", ".join(filter(None, [r.webhook_host, *r.emails]))
            print(f"{r.id:>4}  {'on ' if r.active else 'off'}  {r.name!r}  {what}  polo {r.polo or 'every'}  -> {to}")
        if not rules:
            print("No alert rules yet: python -m core alerts add NAME --kind KIND ...")
    return 0


def _add_alerts_parsers(sub) -> None:
    from core.alerts import KINDS

    al = sub.add_parser("alerts", help="alert rules, their history, and the worker that sends them"
                        ).add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    run = al.add_parser("run", help="the worker: evaluate the rules every minute and send what is due "
                                    "(one active among replicas: a PostgreSQL advisory lock)")
    run.add_argument("--once", action="store_true", help="one round, then exit (e.g. from cron)")
    run.add_argument("--interval", type=float, default=60, help="seconds between rounds (default 60)")
    al.add_parser("list", help="the rules (webhooks shown by their host only)")
    add = al.add_parser("add", help="create a rule")
    add.add_argument("name", help="what the rule is called in its messages, e.g. 'SLA RJ'")
    add.add_argument("--kind", required=True, choices=KINDS, help="sla_below: month-to-date SLA under --threshold; "
                     "open_due_today: more than --open-limit services due today still open from --at; "
                     "load_failed: a load failed or was interrupted; daily_summary: at DAILY_SUMMARY_TIME")
    add.add_argument("--polo", help="only this polo (sla_below, open_due_today; default every polo)")
    add.add_argument("--threshold", type=float, help="sla_below: a ratio, 0.85 = 85%% (default SLA_TARGET)")
    add.add_argument("--open-limit", type=int, help="open_due_today: fires above this many open services due today")
    add.add_argument("--at", help="open_due_today: from this time of day, HH:MM in TIMEZONE")
    add.add_argument("--webhook", help="a Slack or Teams incoming webhook URL (- reads it from stdin)")
    add.add_argument("--email", action="append", help="an address to e-mail (repeat for several; needs SMTP_HOST)")
    for name, text in (("enable", "switch a rule on"), ("disable", "switch a rule off"),
                       ("remove", "delete a rule (its history stays)"),
                       ("test", "send a test message through the rule's channels now (exit 1 if one fails)")):
        p = al.add_parser(name, help=text)
        p.add_argument("id", type=int, help="the rule's id (see `alerts list`)")
    history = al.add_parser("history", help="the latest firings and their deliveries")
    history.add_argument("--limit", type=int, default=30, help="how many firings (default 30)")
    for parser in al.choices.values():
        parser.set_defaults(func=cmd_alerts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core",
                                     description="Logistics indicators: database, users, loads and reports.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema and maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply pending migrations and create the first admin"
                  ).set_defaults(func=cmd_db_upgrade)
    db.add_parser("status", help="show the database and pending migrations (exit 1 if any)"
                  ).set_defaults(func=cmd_db_status)
    compact = db.add_parser("compact-search", help="rebuild the customers' search blocks from the customers: "
                            "edits by hand only append to them, and only a customers load compacts them")
    compact.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    compact.set_defaults(func=cmd_db_compact_search)

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
    keys = users.add_parser("key", help="API keys for scripts and integrations (create, list, revoke)"
                            ).add_subparsers(dest="key_command", required=True, metavar="ACTION")
    key_create = keys.add_parser("create", help="create an API key and print it once")
    key_create.add_argument("name", help="what or who uses the key, e.g. 'nightly export' (1-64 characters)")
    key_create.add_argument("--role", choices=accounts.ROLES, required=True,
                            help="what the key may do: viewer reads, analyst also loads and edits, admin everything")
    key_create.add_argument("--expires-days", type=int, metavar="DAYS",
                            help=f"the key stops working after DAYS days (1-{accounts.API_KEY_MAX_DAYS}); "
                                 "default: until revoked")
    key_create.set_defaults(func=cmd_users_key)
    keys.add_parser("list", help="list API keys, newest first, revoked ones included (never the keys)"
                    ).set_defaults(func=cmd_users_key)
    key_revoke = keys.add_parser("revoke", help="revoke an API key: it stops working at once")
    key_revoke.add_argument("id", type=int, help="the key's id (see `users key list`)")
    key_revoke.set_defaults(func=cmd_users_key)

    settings_parser = sub.add_parser("settings", help="list every setting with its default and help")
    settings_parser.add_argument("--markdown", action="store_true", help="print the table for the README")
    settings_parser.set_defaults(func=cmd_settings)

    sub.add_parser("doctor", help="check every part (database reachable, migrations current, data dir "
                   "writable, embedded server); exit 1 if one fails").set_defaults(func=cmd_doctor)
    backup = sub.add_parser("backup", help="dump the whole database to a file (pg_dump custom format)")
    backup.add_argument("path", help="file to write, e.g. backups/logistics-2026-11-28.dump")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="replace the whole database with a backup, in one transaction; it runs "
                             "the archive's SQL as the database owner: only restore archives you trust")
    restore.add_argument("path", help="a file written by `python -m core backup`")
    restore.add_argument("--force", action="store_true",
                         help="overwrite a database that already holds services or customers")
    restore.set_defaults(func=cmd_restore)
    _add_indicator_parsers(sub)
    _add_loading_parsers(sub)
    _add_records_parsers(sub)
    _add_alerts_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _start_telemetry()
    try:
        return args.func(args)
    except Exception as exc:
        if not isinstance(exc, _refusals()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        from core.telemetry import flush_timings

        flush_timings()  # before exit: the embedded server may stop with the process
