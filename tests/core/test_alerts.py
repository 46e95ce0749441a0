"""Alerts on hand-checked data: rules and their roles, fire once per polo and day, clear and fire again,
the daily summary, deliveries to a local HTTP receiver (that answers, fails or hangs) and a local SMTP
server (aiosmtpd), retries with backoff, tests, and one active worker among several."""
from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from core import alerts, audit, summary
from core.accounts import Actor, PermissionDenied
from tests.core.test_indicators import insert_services
from tests.core.test_operation_day import RJ, SERVICES, SP

ADMIN, ANALYST = Actor("admin", "admin"), Actor("ana", "analyst")
SECRET_PATH = "/services/T000/B000/s3cr3t-token"


def at(local: str) -> datetime:
    """A moment given as São Paulo's local time (UTC-3 in 2022)."""
    return datetime.fromisoformat(local).replace(tzinfo=timezone.utc) + timedelta(hours=3)


class Receiver:
    """A local webhook receiver: `mode` ok (200), fail (500), hang (never answers) or trickle (answers a
    byte every half second: each read is quick, the whole answer would take a minute)."""

    def __init__(self):
        self.mode, self.bodies = "ok", []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.mode == "hang":
                    time.sleep(30)
                    return
                if receiver.mode == "trickle":
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n" + b"x" * 120:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.5)
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200 if receiver.mode == "ok" else 500)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads, self.server.block_on_close = True, False
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Mailbox(list):
    """The messages a local SMTP server received, as (recipients, message); `port` it listens on."""
    port = 0


@pytest.fixture
def mailbox():
    """A local SMTP server (aiosmtpd); yields the list of messages it received."""
    from aiosmtpd.controller import Controller

    received = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    received.port = port
    yield received
    controller.stop()


@pytest.fixture
def cfg(settings, mailbox):
    port = mailbox.port
    return dataclasses.replace(settings, notify_timeout_seconds=1, smtp_host="127.0.0.1", smtp_port=port,
                               smtp_tls="NONE", smtp_from="alerts@example.com", language="en")


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn, SERVICES)
    return db


def rule(db, **values):
    with db.begin() as conn:
        return alerts.create_rule(conn, actor=ADMIN, **values)


def firings(db):
    with db.connect() as conn:
        return alerts.list_firings(conn, actor=ADMIN)


# --- rules --------------------------------------------------------------------------------------

def test_rules_are_an_admins_and_are_checked(db, receiver):
    with db.begin() as conn:
        with pytest.raises(PermissionDenied):
            alerts.create_rule(conn, actor=ANALYST, name="x", kind="load_failed", webhook_url=receiver.url)
        with pytest.raises(PermissionDenied):
            alerts.list_rules(conn, actor=ANALYST)
        for values, message in (
                (dict(name="", kind="load_failed", webhook_url=receiver.url), "Give the rule a name"),
                (dict(name="x", kind="nope", webhook_url=receiver.url), "Unknown kind of rule 'nope'"),
                (dict(name="x", kind="load_failed"), "a webhook or at least one e-mail address"),
                (dict(name="x", kind="load_failed", webhook_url="file:///etc/passwd"), "http:// or https://"),
                (dict(name="x", kind="load_failed", emails=["not an address"]), "The email 'not an address' is not a valid"),
                (dict(name="x", kind="sla_below", threshold=1.5, emails=["a@example.com"]), "between 0 and 1"),
                (dict(name="x", kind="open_due_today", open_limit=3, at_time="25:00", emails=["a@example.com"]),
                 "time of day"),
                (dict(name="x", kind="open_due_today", at_time="15:00", emails=["a@example.com"]), "above how many")):
            with pytest.raises(alerts.AlertError, match=message):
                alerts.create_rule(conn, actor=ADMIN, **values)
    made = rule(db, name="SLA RJ", kind="sla_below", polo=RJ, webhook_url=receiver.url,
                emails=["ops@example.com; boss@example.com"])
    assert (made.threshold, made.emails, made.webhook_host) == (None, ["ops@example.com", "boss@example.com"],
                                                                 receiver.url.split("/services")[0])
    with db.begin() as conn:
        changed = alerts.update_rule(conn, actor=ADMIN, id=made.id, name="SLA RJ 85", polo=RJ, threshold="0.85",
                                     emails=["ops@example.com"], keep_webhook=True)
        assert (changed.threshold, changed.webhook_url) == (0.85, receiver.url)
        entries = audit.list_audit(conn, filters=audit.AuditFilter(entity="alert_rule"))
    assert [e.action for e in entries] == ["update", "create"]
    assert "s3cr3t" not in json.dumps([e.before for e in entries] + [e.after for e in entries])
    assert entries[0].after["webhook"].startswith("http://127.0.0.1:")


# --- firing -------------------------------------------------------------------------------------

def test_a_rule_fires_once_per_polo_and_day_until_its_condition_clears(data, cfg, receiver):
    made = rule(data, name="SLA", kind="sla_below", threshold=0.6, webhook_url=receiver.url)
    # 15 March 2022: RJ 20% (1 of 5), SP 50% (1 of 2): both under 60%
    first = alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:00"))
    assert len(first.fired) == 2
    assert alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:01")).fired == []  # still under: no repeat
    assert [f.subject for f in firings(data)] == [SP, RJ]
    sp = next(f for f in firings(data) if f.subject == SP)
    assert sp.message == f"SLA · {SP}: month-to-date SLA 50.0%, under 60.0% (1 of 2 on time, 3/15/22)."
    assert [(d.channel, d.status) for d in sp.deliveries] == [("webhook", "pending")]

    with data.begin() as conn:  # 15, due the 15th, visited the 14th instead: SP 2 of 2 on time
        conn.execute(sa.text("UPDATE services SET data_de_atendimento = '2022-03-14 09:00' WHERE id = 15"))
    cleared = alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:02"))
    assert (cleared.fired, cleared.cleared) == ([], 1)
    assert next(f for f in firings(data) if f.subject == SP).cleared_at is not None

    with data.begin() as conn:  # under again the same day: it fires again
        conn.execute(sa.text("UPDATE services SET data_de_atendimento = '2022-03-16 09:00' WHERE id = 15"))
    assert len(alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:03")).fired) == 1
    # the next day, still under: once more for both (yesterday's firings close with their day)
    next_day = alerts.evaluate(data, settings=cfg, now=at("2022-03-16 00:05"))
    assert (len(next_day.fired), next_day.cleared) == (2, 2)
    assert [f.subject for f in firings(data)].count(SP) == 3

    with data.begin() as conn:
        alerts.set_active(conn, actor=ADMIN, id=made.id, active=False)
    assert alerts.evaluate(data, settings=cfg, now=at("2022-03-17 00:05")).fired == []


def test_open_services_due_today_from_a_time_of_day(data, cfg, receiver):
    rule(data, name="Open at 3 pm", kind="open_due_today", open_limit=1, at_time="15:00", webhook_url=receiver.url)
    assert alerts.evaluate(data, settings=cfg, now=at("2022-03-15 14:59")).fired == []
    fired = alerts.evaluate(data, settings=cfg, now=at("2022-03-15 15:00")).fired
    assert [f.subject for f in firings(data)] == [RJ]  # RJ has 2 due today and open; SP 1, not more than 1
    assert len(fired) == 1
    assert firings(data)[0].message == f"Open at 3 pm · {RJ}: 2 services due today still open at 15:00 (more than 1), 3/15/22."
    # 23:30 in São Paulo is already the 16th in UTC, and still the 15th here: no new firing
    assert alerts.evaluate(data, settings=cfg, now=at("2022-03-15 23:30")).fired == []


def test_a_failed_or_interrupted_load_fires_once(db, cfg, receiver, tmp_path):
    made = rule(db, name="Loads", kind="load_failed", webhook_url=receiver.url)
    now = at("2026-12-06 22:00")  # late in the evening in São Paulo
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alert_rules SET created_at = :at"), {"at": now - timedelta(hours=1)})
        for status, message in (("failed", "the file is not a services file"), ("done", None)):
            conn.execute(sa.text("""
                INSERT INTO load_jobs (kind, file_name, file_size, source_path, username, encoding, delimiter,
                                       has_header, data_start, block_bytes, status, message, created_at, heartbeat_at)
                VALUES ('services', 'march.csv', 10, '/tmp/x', 'ana', 'utf-8', ';', true, 0, 65536, :s, :m,
                        :at, :at)"""), {"s": status, "m": message, "at": now})
    alerts.evaluate(db, settings=cfg, now=now + timedelta(minutes=1))
    alerts.evaluate(db, settings=cfg, now=now + timedelta(hours=5))  # another day in São Paulo: a load fires once
    (fired,) = firings(db)
    assert (fired.subject, fired.message) == ("load 1", "Loads · the load 1 of march.csv (services) failed: "
                                                        "the file is not a services file")
    with db.begin() as conn:  # resumed and done: the condition clears
        conn.execute(sa.text("UPDATE load_jobs SET status = 'done' WHERE id = 1"))
    assert alerts.evaluate(db, settings=cfg, now=now + timedelta(minutes=2)).cleared == 1


def test_the_daily_summary_at_its_time_with_the_table_as_csv(data, cfg, receiver, mailbox):
    with data.begin() as conn:  # a polo whose name a spreadsheet would take for a formula
        conn.execute(sa.text("UPDATE services SET polo = '=HYPERLINK(1)' WHERE polo = :sp"), {"sp": SP})
    rule(data, name="Daily", kind="daily_summary", webhook_url=receiver.url, emails=["ops@example.com"])
    summary_time = dataclasses.replace(cfg, daily_summary_time=datetime.strptime("07:00", "%H:%M").time())
    assert alerts.evaluate(data, settings=summary_time, now=at("2022-03-16 06:59")).fired == []
    assert len(alerts.evaluate(data, settings=summary_time, now=at("2022-03-16 07:00")).fired) == 1
    assert alerts.evaluate(data, settings=summary_time, now=at("2022-03-16 12:00")).fired == []  # once a day
    outcomes = alerts.deliver_due(data, settings=summary_time, now=at("2022-03-16 07:00"))
    assert [(o.channel, o.delivered) for o in outcomes] == [("webhook", True), ("email", True)]
    text = receiver.bodies[0]["text"]
    assert text.splitlines()[:3] == [
        "Daily summary of 3/16/22, SLA target 90.0%.",
        # due the 15th: 1 on time; 2 not visited; 3 and 15 visited the 16th, late. Visits of the 15th: 1, 7, 17
        "Yesterday: SLA 25.0% (1 of 4 on time), 3 visits; 2 polos under the target.",
        # due the 16th and open: 4, 6; overdue and open: 2, 8, 9 (visited the 20th), 10
        "Today: 2 services due and still open, 4 overdue."]
    (to, mail), = mailbox
    assert to == ["ops@example.com"] and mail["Subject"] == "Daily summary of 3/16/22, SLA target 90.0%."
    (attachment,) = list(mail.iter_attachments())
    csv = attachment.get_content()
    assert attachment.get_filename() == "daily-summary.csv"
    assert csv.splitlines()[0].startswith('"polo","yesterday_due","yesterday_on_time","yesterday_sla","target"')
    assert "\n\"'=HYPERLINK(1)\",1,0,0.0,0.9,1,0,0,0,0,0.5," in csv  # neutralised: a text, not a formula



def test_the_daily_summary_is_built_once_a_day(data, cfg, receiver, monkeypatch):
    """Sent at 07:00, it holds until the day ends without being built again every minute (the
    worker's transaction would re-read yesterday and today for nothing); the next day it is sent."""
    built = []
    real = summary.daily_summary
    monkeypatch.setattr(summary, "daily_summary", lambda conn, **kw: built.append(kw["day"]) or real(conn, **kw))
    rule(data, name="Daily", kind="daily_summary", webhook_url=receiver.url)
    summary_time = dataclasses.replace(cfg, daily_summary_time=datetime.strptime("07:00", "%H:%M").time())
    assert len(alerts.evaluate(data, settings=summary_time, now=at("2022-03-16 07:00")).fired) == 1
    for minute in ("07:01", "12:00", "23:59"):
        assert alerts.evaluate(data, settings=summary_time, now=at(f"2022-03-16 {minute}")).fired == []
    assert built == [date(2022, 3, 16)]
    assert alerts.evaluate(data, settings=summary_time, now=at("2022-03-17 06:00")).cleared == 1
    assert len(alerts.evaluate(data, settings=summary_time, now=at("2022-03-17 07:00")).fired) == 1
    assert built == [date(2022, 3, 16), date(2022, 3, 17)]


# --- delivering ----------------------------------------------------------------------------------

def test_a_failed_delivery_is_retried_with_backoff_then_stays_failed(data, cfg, receiver, caplog):
    rule(data, name="SLA", kind="sla_below", polo=SP, threshold=0.6, webhook_url=receiver.url)
    now = at("2022-03-15 10:00")
    alerts.evaluate(data, settings=cfg, now=now)
    receiver.mode = "fail"
    with caplog.at_level(logging.INFO):
        (outcome,) = alerts.deliver_due(data, settings=cfg, now=now)
    assert (outcome.delivered, outcome.error) == (False, "the receiver answered HTTP 500")
    assert "s3cr3t" not in caplog.text and "/services/T000" not in caplog.text
    with data.connect() as conn:
        (failing,) = alerts.failing_deliveries(conn, actor=ADMIN)
    assert (failing.status, failing.attempts, failing.next_attempt_at) == ("pending", 1, now + timedelta(minutes=1))
    assert alerts.deliver_due(data, settings=cfg, now=now + timedelta(seconds=59)) == []  # not yet
    waited = now
    for minutes in alerts.BACKOFF_MINUTES:  # 1, 2, 4, 8, 16 minutes later: still failing
        waited += timedelta(minutes=minutes)
        assert [o.delivered for o in alerts.deliver_due(data, settings=cfg, now=waited)] == [False]
    with data.connect() as conn:
        (failing,) = alerts.failing_deliveries(conn, actor=ADMIN)
    assert (failing.status, failing.attempts) == ("failed", alerts.MAX_ATTEMPTS)
    receiver.mode = "ok"
    assert alerts.deliver_due(data, settings=cfg, now=waited + timedelta(days=1)) == []  # failed for good


def test_a_retry_delivers_when_the_receiver_is_back(data, cfg, receiver):
    rule(data, name="SLA", kind="sla_below", polo=SP, threshold=0.6, webhook_url=receiver.url)
    now = at("2022-03-15 10:00")
    alerts.evaluate(data, settings=cfg, now=now)
    receiver.mode = "fail"
    alerts.deliver_due(data, settings=cfg, now=now)
    receiver.mode = "ok"
    (outcome,) = alerts.deliver_due(data, settings=cfg, now=now + timedelta(minutes=1))
    assert outcome.delivered and receiver.bodies[-1]["text"].startswith(f"SLA · {SP}: month-to-date SLA 50.0%")
    with data.connect() as conn:
        assert alerts.failing_deliveries(conn, actor=ADMIN) == []
        (fired,) = alerts.list_firings(conn, actor=ADMIN)
    assert [(d.status, d.attempts, d.last_error) for d in fired.deliveries] == [("delivered", 2, "the receiver answered HTTP 500")]


def test_a_receiver_that_hangs_never_holds_the_worker(data, cfg, receiver):
    rule(data, name="SLA", kind="sla_below", polo=SP, threshold=0.6, webhook_url=receiver.url)
    now = at("2022-03-15 10:00")
    alerts.evaluate(data, settings=cfg, now=now)
    for mode in ("hang", "trickle"):
        receiver.mode = mode
        started = time.monotonic()
        (outcome,) = alerts.deliver_due(data, settings=cfg, now=now)
        assert time.monotonic() - started < cfg.notify_timeout_seconds + 2, mode
        assert (outcome.delivered, outcome.error) == (False, "no answer within 1 s"), mode
        now += timedelta(minutes=1)


def test_e_mail_through_smtp_and_a_mail_server_that_is_down(data, cfg, mailbox, caplog):
    rule(data, name="SLA", kind="sla_below", polo=SP, threshold=0.6, emails=["ops@example.com", "boss@example.com"])
    alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:00"))
    (outcome,) = alerts.deliver_due(data, settings=cfg, now=at("2022-03-15 10:00"))
    assert outcome.delivered and outcome.target == "ops@example.com, boss@example.com"
    (to, mail), = mailbox
    assert to == ["ops@example.com", "boss@example.com"] and mail["From"] == "alerts@example.com"
    assert mail.get_content().startswith(f"SLA · {SP}: month-to-date SLA 50.0%")

    with data.begin() as conn:
        conn.execute(sa.text("UPDATE services SET data_de_atendimento = '2022-03-14 09:00' WHERE id = 15"))
    alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:01"))
    with data.begin() as conn:
        conn.execute(sa.text("UPDATE services SET data_de_atendimento = '2022-03-16 09:00' WHERE id = 15"))
    alerts.evaluate(data, settings=cfg, now=at("2022-03-15 10:02"))
    down = dataclasses.replace(cfg, smtp_port=1)  # nothing listens there
    with caplog.at_level(logging.INFO):
        (outcome,) = alerts.deliver_due(data, settings=down, now=at("2022-03-15 10:02"))
    assert (outcome.delivered, outcome.error) == (False, "the connection was refused")
    assert "failed: the connection was refused" in caplog.text and "@example.com" not in caplog.text
    no_server = dataclasses.replace(cfg, smtp_host=None)
    (outcome,) = alerts.deliver_due(data, settings=no_server, now=at("2022-03-15 10:03"))
    assert outcome.error == "SMTP_HOST is not set: e-mail cannot be sent"


def test_send_a_test_through_every_channel_now(db, cfg, receiver, mailbox):
    made = rule(db, name="Loads", kind="load_failed", webhook_url=receiver.url, emails=["ops@example.com"])
    with pytest.raises(PermissionDenied):
        alerts.send_test(db, settings=cfg, actor=ANALYST, id=made.id)
    outcomes = alerts.send_test(db, settings=cfg, actor=ADMIN, id=made.id)
    assert [(o.channel, o.delivered) for o in outcomes] == [("webhook", True), ("email", True)]
    assert receiver.bodies == [{"text": "Test of the alert rule Loads, sent by admin: this channel works."}]
    receiver.mode = "fail"
    outcomes = alerts.send_test(db, settings=cfg, actor=ADMIN, id=made.id)
    assert [(o.channel, o.delivered, o.error) for o in outcomes] == [
        ("webhook", False, "the receiver answered HTTP 500"), ("email", True, None)]
    (latest, first) = firings(db)
    assert latest.test and latest.triggered_by == "admin"
    assert [d.status for d in latest.deliveries] == ["failed", "delivered"]  # a test is never retried
    with db.connect() as conn:
        assert [e.entity for e in audit.list_audit(conn, filters=audit.AuditFilter(entity="alert_test"))] == [
            "alert_test", "alert_test"]
    with pytest.raises(alerts.AlertError, match="There is no alert rule 99"):
        alerts.send_test(db, settings=cfg, actor=ADMIN, id=99)


# --- the worker ----------------------------------------------------------------------------------

def test_of_two_workers_exactly_one_is_active(data, cfg, receiver):
    rule(data, name="SLA", kind="sla_below", polo=SP, threshold=0.6, webhook_url=receiver.url)
    one, two = alerts.Worker(data, settings=cfg), alerts.Worker(data, settings=cfg)
    try:
        assert one.lead() and not two.lead()
        assert two.tick(now=at("2022-03-15 10:00")) is None  # the standby does nothing
        evaluation, outcomes = one.tick(now=at("2022-03-15 10:00"))
        assert len(evaluation.fired) == 1 and [o.delivered for o in outcomes] == [True]
        assert one.lead() and not two.lead()  # still the same one
        one.release()  # the active one stops (or its connection drops): the other takes over
        assert two.lead() and not one.lead()
    finally:
        one.release()
        two.release()


def test_the_worker_loop_runs_rounds_until_stopped(data, cfg, receiver):
    rule(data, name="Loads", kind="load_failed", webhook_url=receiver.url)
    worker = alerts.Worker(data, settings=cfg, interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"stop": stop})
    thread.start()
    time.sleep(0.7)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and worker._lock is None  # the lock released on the way out
    other = alerts.Worker(data, settings=cfg)
    assert other.lead()
    other.release()


def test_the_alerts_commands(db, receiver, capsys, monkeypatch):
    import io

    from core import cli

    monkeypatch.setattr("sys.stdin", io.StringIO(receiver.url + "\n"))  # the URL from stdin, not argv
    assert cli.main(["alerts", "add", "Loads", "--kind", "load_failed", "--webhook", "-"]) == 0
    assert "created alert rule 1 'Loads' (load_failed)" in capsys.readouterr().out
    assert cli.main(["alerts", "add", "SLA", "--kind", "sla_below", "--threshold", "1.5", "--email", "a@example.com"]) == 2
    assert "The SLA threshold is a ratio between 0 and 1" in capsys.readouterr().err
    assert cli.main(["alerts", "list"]) == 0
    listed = capsys.readouterr().out
    assert "'Loads'  a load failed or was interrupted" in listed and "s3cr3t" not in listed
    assert cli.main(["alerts", "test", "1"]) == 0
    assert "webhook http://127.0.0.1:" in capsys.readouterr().out and len(receiver.bodies) == 1
    assert cli.main(["alerts", "disable", "1"]) == 0 and "is now off" in capsys.readouterr().out
    assert cli.main(["alerts", "history"]) == 0
    assert "test 'Loads' - by cli" in capsys.readouterr().out
    assert cli.main(["alerts", "run", "--once"]) == 0
