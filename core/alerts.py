"""Alerts: rules an admin defines, a worker that evaluates them every minute, and every firing and
delivery recorded.

Rules (kinds):
- sla_below: a polo's month-to-date SLA (core.operation_day) under a threshold (default SLA_TARGET);
- open_due_today: more than N services due today still open, from a time of day (TIMEZONE), per polo;
- load_failed: a file load that failed or was interrupted (in the last 24 hours);
- daily_summary: at DAILY_SUMMARY_TIME, yesterday's SLA and visits per polo and today's open services
  (core.summary), with the table as CSV in the e-mail.
Each rule sends to a webhook and/or e-mail addresses (core.notifications). A rule fires once per
subject (a polo, a load, or the summary) and day while its condition holds; when the condition
clears, the firing is closed and the rule may fire again. Each delivery is recorded with its attempts;
a failed one is retried with backoff (1, 2, 4, 8, 16 minutes), then stays failed (Monitoring shows it).

`python -m core alerts run` runs the worker; with several replicas exactly one works at a time: the one
holding a PostgreSQL advisory lock (the others wait for it). Rules are an admin's: core checks the role
on every read (webhook URLs are secrets) and write (audited, the URL reduced to its host).
"""
from __future__ import annotations

import logging
import threading
import time as clock
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core import audit, contact, loading, notifications, operation_day, summary
from core.accounts import Actor, require
from core.config import Settings
from core.messages import N_, Count, Text, TextError
from core.notifications import Day, DeliveryError, Ratio

log = logging.getLogger(__name__)

KINDS = ("sla_below", "open_due_today", "load_failed", "daily_summary")
KIND_LABELS = {"sla_below": N_("month-to-date SLA under a threshold"),
               "open_due_today": N_("services due today still open at a time of day"),
               "load_failed": N_("a load failed or was interrupted"),
               "daily_summary": N_("daily summary")}
WORKER = "worker"                    # triggered_by of the worker's firings
BACKOFF_MINUTES = (1, 2, 4, 8, 16)   # waits before the retries of a failed delivery
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
RECENT_LOADS = timedelta(hours=24)
LOCK_KEY = 724_150_022               # the advisory lock of the one active worker (core.db uses ..._001)
MAX_NAME = 80


class AlertError(TextError, ValueError):
    """A rule that cannot be saved or used; the message is for the user (core.messages.TextError)."""


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    kind: str
    polo: str | None
    threshold: float | None     # sla_below; None: SLA_TARGET
    open_limit: int | None      # open_due_today
    at_time: time | None        # open_due_today
    webhook_url: str | None     # a secret: shown to admins only
    emails: list[str]
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def webhook_host(self) -> str | None:
        return notifications.webhook_host(self.webhook_url) if self.webhook_url else None


@dataclass(frozen=True)
class Delivery:
    """One delivery of a firing to one channel, as recorded."""
    id: int
    firing_id: int
    rule_name: str
    subject: str
    test: bool
    fired_at: datetime
    channel: str                # webhook or email
    target: str                 # the webhook's host, or the addresses
    status: str                 # pending, delivered or failed
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class Firing:
    id: int
    rule_id: int | None
    rule_name: str
    subject: str
    day: date
    message: str
    triggered_by: str
    test: bool
    fired_at: datetime
    cleared_at: datetime | None
    deliveries: list[Delivery]


# --- rules --------------------------------------------------------------------------------------

_RULE_COLUMNS = ("id, name, kind, polo, threshold, open_limit, at_time, webhook_url, emails, active, created_by, "
                 "created_at, updated_at")


def _audit_values(rule: Rule) -> dict[str, Any]:
    """What the audit log keeps of a rule: the webhook reduced to its host (the path is the secret)."""
    values = {k: v for k, v in asdict(rule).items() if k not in ("created_at", "updated_at", "webhook_url")}
    return {**values, "at_time": rule.at_time.isoformat("minutes") if rule.at_time else None,
            "webhook": rule.webhook_host}


def _clean(*, name: Any, kind: Any, polo: Any, threshold: Any, open_limit: Any, at_time: Any, webhook_url: Any,
           emails: Iterable[Any]) -> dict[str, Any]:
    """A rule's fields checked; AlertError in plain words otherwise."""
    name = str(name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise AlertError(N_("Give the rule a name of 1 to {n} characters."), n=MAX_NAME)
    if kind not in KINDS:
        raise AlertError(N_("Unknown kind of rule {kind!r}: choose one of {kinds}."), kind=kind, kinds=", ".join(KINDS))
    polo = str(polo).strip() if polo and kind in ("sla_below", "open_due_today") else None
    if kind == "sla_below" and threshold not in (None, ""):
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            threshold = -1.0
        if not 0 <= threshold <= 1:
            raise AlertError(N_("The SLA threshold is a ratio between 0 and 1 (0.9 means 90%)."))
    else:
        threshold = None
    if kind == "open_due_today":
        try:
            open_limit = int(open_limit)
        except (TypeError, ValueError):
            open_limit = -1
        if open_limit < 0:
            raise AlertError(N_("Say above how many open services due today the rule fires (0 or more)."))
        if isinstance(at_time, str):
            try:
                at_time = time.fromisoformat(at_time.strip())
            except ValueError:
                at_time = None
        if not isinstance(at_time, time):
            raise AlertError(N_("Give the time of day from which the rule looks, as HH:MM."))
        at_time = at_time.replace(second=0, microsecond=0)
    else:
        open_limit, at_time = None, None
    url = str(webhook_url or "").strip() or None
    if url:
        try:
            url = notifications.check_webhook_url(url)
        except ValueError:
            raise AlertError(N_("The webhook must be an http:// or https:// address.")) from None
    addresses = []
    for raw in emails or ():
        for part in str(raw).replace(";", ",").split(","):
            if part.strip():
                try:
                    addresses.append(contact.clean_email(part))
                except contact.ContactError as exc:
                    raise AlertError(exc.template, **exc.values) from None
    if not url and not addresses:
        raise AlertError(N_("Give the rule a webhook or at least one e-mail address to send to."))
    return {"name": name, "kind": kind, "polo": polo, "threshold": threshold, "open_limit": open_limit,
            "at_time": at_time, "webhook_url": url, "emails": list(dict.fromkeys(addresses))}


def _rule(conn: Connection, id: Any, *, lock: bool = False) -> Rule:
    row = conn.execute(sa.text(f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE id = :id"
                               + (" FOR UPDATE" if lock else "")), {"id": _id(id)}).mappings().first()
    if row is None:
        raise AlertError(N_("There is no alert rule {id}."), id=id)
    return Rule(**row)


def _id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AlertError(N_("There is no alert rule {id}."), id=value) from None


def create_rule(conn: Connection, *, actor: Actor, name: Any, kind: Any, polo: Any = None, threshold: Any = None,
                open_limit: Any = None, at_time: Any = None, webhook_url: Any = None,
                emails: Iterable[Any] = ()) -> Rule:
    """Save a new rule (admin); audited without the webhook's path."""
    require(actor, "admin")
    values = _clean(name=name, kind=kind, polo=polo, threshold=threshold, open_limit=open_limit, at_time=at_time,
                    webhook_url=webhook_url, emails=emails)
    row = conn.execute(sa.text(f"""
        INSERT INTO alert_rules (name, kind, polo, threshold, open_limit, at_time, webhook_url, emails, created_by)
        VALUES (:name, :kind, :polo, :threshold, :open_limit, :at_time, :webhook_url, :emails, :by)
        RETURNING {_RULE_COLUMNS}"""), {**values, "by": actor.username}).mappings().one()
    rule = Rule(**row)
    audit.record(conn, username=actor.username, action="create", entity="alert_rule", entity_id=rule.id,
                 after=_audit_values(rule))
    return rule


def update_rule(conn: Connection, *, actor: Actor, id: Any, name: Any, polo: Any = None, threshold: Any = None,
                open_limit: Any = None, at_time: Any = None, webhook_url: Any = None, emails: Iterable[Any] = (),
                active: bool = True, keep_webhook: bool = False) -> Rule:
    """Change a rule (admin; its kind stays); `keep_webhook` keeps the stored URL (a form never shows it
    again). Audited without the webhook's path."""
    require(actor, "admin")
    before = _rule(conn, id, lock=True)
    values = _clean(name=name, kind=before.kind, polo=polo, threshold=threshold, open_limit=open_limit,
                    at_time=at_time, webhook_url=before.webhook_url if keep_webhook else webhook_url, emails=emails)
    row = conn.execute(sa.text(f"""
        UPDATE alert_rules SET name = :name, polo = :polo, threshold = :threshold, open_limit = :open_limit,
               at_time = :at_time, webhook_url = :webhook_url, emails = :emails, active = :active, updated_at = now()
        WHERE id = :id RETURNING {_RULE_COLUMNS}"""), {**values, "active": bool(active), "id": before.id}).mappings().one()
    rule = Rule(**row)
    audit.record(conn, username=actor.username, action="update", entity="alert_rule", entity_id=rule.id,
                 before=_audit_values(before), after=_audit_values(rule))
    return rule


def set_active(conn: Connection, *, actor: Actor, id: Any, active: bool) -> Rule:
    """Switch a rule on or off (admin, audited)."""
    rule = _rule(conn, id)
    return update_rule(conn, actor=actor, id=rule.id, name=rule.name, polo=rule.polo, threshold=rule.threshold,
                       open_limit=rule.open_limit, at_time=rule.at_time, emails=rule.emails, active=active,
                       keep_webhook=True)


def delete_rule(conn: Connection, *, actor: Actor, id: Any) -> None:
    """Delete a rule (admin, audited); its firings and deliveries stay in the history."""
    require(actor, "admin")
    rule = _rule(conn, id, lock=True)
    conn.execute(sa.text("DELETE FROM alert_rules WHERE id = :id"), {"id": rule.id})
    audit.record(conn, username=actor.username, action="delete", entity="alert_rule", entity_id=rule.id,
                 before=_audit_values(rule))


def list_rules(conn: Connection, *, actor: Actor) -> list[Rule]:
    """Every rule, oldest first (admin: they carry the webhook URLs)."""
    require(actor, "admin")
    return [Rule(**r) for r in conn.execute(sa.text(f"SELECT {_RULE_COLUMNS} FROM alert_rules ORDER BY id")).mappings()]


# --- history ------------------------------------------------------------------------------------

_DELIVERY_SQL = """
    SELECT d.id, d.firing_id, f.rule_name, f.subject, f.test, f.fired_at, d.channel, d.target, d.status,
           d.attempts, d.next_attempt_at, d.last_error, d.delivered_at
    FROM alert_deliveries d JOIN alert_firings f ON f.id = d.firing_id
"""


def list_firings(conn: Connection, *, actor: Actor, limit: int = 100) -> list[Firing]:
    """The latest firings, newest first, each with its deliveries (admin)."""
    require(actor, "admin")
    firings = conn.execute(sa.text(
        "SELECT id, rule_id, rule_name, subject, day, message, triggered_by, test, fired_at, cleared_at "
        "FROM alert_firings ORDER BY fired_at DESC, id DESC LIMIT :limit"), {"limit": limit}).mappings().all()
    deliveries: dict[int, list[Delivery]] = {}
    if firings:
        for d in conn.execute(sa.text(_DELIVERY_SQL + " WHERE d.firing_id = ANY(:ids) ORDER BY d.id"),
                              {"ids": [f["id"] for f in firings]}).mappings():
            deliveries.setdefault(d["firing_id"], []).append(Delivery(**d))
    return [Firing(**f, deliveries=deliveries.get(f["id"], [])) for f in firings]


def failing_deliveries(conn: Connection, *, actor: Actor, limit: int = 50) -> list[Delivery]:
    """Deliveries that failed for good or are waiting for a retry, newest first (admin; Monitoring)."""
    require(actor, "admin")
    return [Delivery(**d) for d in conn.execute(sa.text(
        _DELIVERY_SQL + " WHERE d.status = 'failed' OR (d.status = 'pending' AND d.attempts > 0) "
        "ORDER BY d.id DESC LIMIT :limit"), {"limit": limit}).mappings()]


# --- evaluating the rules -----------------------------------------------------------------------

def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _conditions(conn: Connection, rule: Rule, *, settings: Settings, now: datetime, today: date,
                numbers: list[operation_day.DayRow] | None) -> dict[str, tuple[Text | None, str | None]]:
    """The subjects whose condition holds now: {subject: (message, CSV attachment or None)}; a daily
    summary already sent today holds with no message (None, None): it is not sent twice."""
    local = operation_day.local_now(settings, now=now)
    mine = [r for r in numbers or [] if rule.polo is None or r.polo == rule.polo]
    if rule.kind == "sla_below":
        threshold = settings.sla_target if rule.threshold is None else rule.threshold
        return {r.polo: (Text(N_("{rule} · {polo}: month-to-date SLA {sla}, under {threshold} ({on_time} of {total} "
                                 "on time, {day})."), rule=rule.name, polo=r.polo, sla=Ratio(r.month_to_date_sla),
                              threshold=Ratio(threshold), on_time=Count(r.month_to_date_on_time),
                              total=Count(r.month_to_date_total), day=Day(today)), None)
                for r in mine if r.month_to_date_sla is not None and r.month_to_date_sla < threshold}
    if rule.kind == "open_due_today":
        if local.time() < rule.at_time:
            return {}
        return {r.polo: (Text(N_("{rule} · {polo}: {open} services due today still open at {time} (more than "
                                 "{limit}), {day}."), rule=rule.name, polo=r.polo, open=Count(r.due_today_open),
                              time=local.strftime("%H:%M"), limit=Count(rule.open_limit), day=Day(today)), None)
                for r in mine if r.due_today_open > rule.open_limit}
    if rule.kind == "load_failed":
        since = max(rule.created_at, now - RECENT_LOADS)
        return {f"load {j.id}": (Text(N_("{rule} · the load {id} of {file} ({kind}) {status}: {reason}"), rule=rule.name,
                                      id=j.id, file=j.file_name, kind=j.kind,
                                      status=Text(N_("failed") if j.status == "failed" else N_("was interrupted")),
                                      reason=j.message or Text(N_("its process stopped; resume it on the Upload "
                                                                  "page."))), None)
                for j in loading.list_jobs(conn, limit=50)
                if j.status in ("failed", "interrupted") and j.created_at >= since}
    if local.time() < settings.daily_summary_time:  # daily_summary
        return {}
    if conn.scalar(sa.text("SELECT 1 FROM alert_firings WHERE rule_id = :rule AND subject = '' AND day = :today "
                           "AND cleared_at IS NULL AND NOT test"), {"rule": rule.id, "today": today}):
        return {"": (None, None)}  # sent today: it holds (stays open) and is not built again every minute
    report = summary.daily_summary(conn, day=today, target=settings.sla_target)
    lines = report.lines()
    return {"": (Text("\n".join(f"{{l{i}}}" for i in range(len(lines))), **{f"l{i}": t for i, t in enumerate(lines)}),
                 report.csv())}


def _channels(rule: Rule) -> list[tuple[str, str]]:
    """(channel, target shown) of a rule's deliveries."""
    return ([("webhook", rule.webhook_host)] if rule.webhook_url else []) + (
        [("email", ", ".join(rule.emails))] if rule.emails else [])


def _fire(conn: Connection, rule: Rule, *, subject: str, day: date, message: str, attachment: str | None,
          by: str, test: bool, now: datetime) -> int | None:
    """Record a firing and its deliveries; None when an open firing of the same rule, subject and day
    exists already."""
    firing = conn.scalar(sa.text("""
        INSERT INTO alert_firings (rule_id, rule_name, subject, day, message, attachment, triggered_by, test, fired_at)
        VALUES (:rule, :name, :subject, :day, :message, :attachment, :by, :test, :now)
        ON CONFLICT (rule_id, subject, day) WHERE cleared_at IS NULL AND NOT test DO NOTHING RETURNING id"""),
        {"rule": rule.id, "name": rule.name, "subject": subject, "day": day, "message": message,
         "attachment": attachment, "by": by, "test": test, "now": now})
    if firing is not None:
        conn.execute(sa.text("INSERT INTO alert_deliveries (firing_id, channel, target, next_attempt_at) "
                             "VALUES (:f, :channel, :target, :now)"),
                     [{"f": firing, "channel": c, "target": t, "now": now} for c, t in _channels(rule)])
    return firing


@dataclass(frozen=True)
class Evaluation:
    fired: list[int]      # new firings
    cleared: int          # firings whose condition no longer holds (or whose day ended)


def evaluate(engine: Engine, *, settings: Settings, now: datetime | None = None) -> Evaluation:
    """Evaluate every active rule as of `now` (default: this moment) in one transaction: fire the
    subjects whose condition holds and that have no open firing today, clear the firings whose
    condition no longer holds."""
    now = _utc(now)
    today = operation_day.today(settings, now=now)
    fired, cleared = [], 0
    with engine.begin() as conn:
        rules = [Rule(**r) for r in conn.execute(sa.text(
            f"SELECT {_RULE_COLUMNS} FROM alert_rules WHERE active ORDER BY id")).mappings()]
        numbers = (operation_day.day_by_polo(conn, day=today, target=settings.sla_target)
                   if any(r.kind in ("sla_below", "open_due_today") for r in rules) else None)
        for rule in rules:
            holding = _conditions(conn, rule, settings=settings, now=now, today=today, numbers=numbers)
            # a load fires once, whatever the day; the other subjects once a day
            same_day = "" if rule.kind == "load_failed" else "AND day = :today"
            cleared += conn.execute(sa.text(f"""
                UPDATE alert_firings SET cleared_at = :now
                WHERE rule_id = :rule AND cleared_at IS NULL AND NOT test
                  AND NOT (subject = ANY(CAST(:holding AS text[])) {same_day})"""),
                {"now": now, "rule": rule.id, "holding": list(holding), "today": today}).rowcount
            open_now = set(conn.scalars(sa.text(
                "SELECT subject FROM alert_firings WHERE rule_id = :rule AND cleared_at IS NULL AND NOT test"),
                {"rule": rule.id}))
            for subject, (text, attachment) in holding.items():
                if subject in open_now:
                    continue
                message = notifications.render(text, language=settings.language)
                firing = _fire(conn, rule, subject=subject, day=today, message=message, attachment=attachment,
                               by=WORKER, test=False, now=now)
                if firing is not None:
                    fired.append(firing)
                    log.info("alert rule %s fired for %r", rule.id, subject)
    return Evaluation(fired=fired, cleared=cleared)


# --- delivering --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did."""
    delivery_id: int
    channel: str
    target: str
    delivered: bool
    error: str | None


def _send(settings: Settings, *, channel: str, target: str, webhook_url: str | None, message: str,
          attachment: str | None) -> None:
    if channel == "webhook":
        if not webhook_url:
            raise DeliveryError(N_("the rule has no webhook any more"))
        notifications.post_webhook(webhook_url, text=message, timeout=settings.notify_timeout_seconds)
    else:
        notifications.send_email(settings, to=[a.strip() for a in target.split(",")],
                                 subject=message.splitlines()[0][:150], text=message,
                                 attachment=("daily-summary.csv", attachment) if attachment else None)


def _deliver(engine: Engine, *, settings: Settings, now: datetime, where: str, params: dict,
             limit: int) -> list[Outcome]:
    """Claim the deliveries `where` selects (a lease: another caller skips them), send each outside
    any transaction, record each result."""
    lease = now + timedelta(seconds=2 * settings.notify_timeout_seconds + 60)
    with engine.begin() as conn:
        claimed = conn.execute(sa.text(f"""
            UPDATE alert_deliveries d SET next_attempt_at = :lease
            FROM alert_firings f LEFT JOIN alert_rules r ON r.id = f.rule_id
            WHERE d.id IN (SELECT id FROM alert_deliveries WHERE {where}
                           ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
              AND f.id = d.firing_id
            RETURNING d.id, d.channel, d.target, d.attempts, f.test, f.message, f.attachment, r.webhook_url"""),
            {**params, "lease": lease, "limit": limit}).mappings().all()
    outcomes = []
    for d in sorted(claimed, key=lambda d: d["id"]):
        try:
            _send(settings, channel=d["channel"], target=d["target"], webhook_url=d["webhook_url"],
                  message=d["message"], attachment=d["attachment"])
            error = None
        except DeliveryError as exc:
            error = str(exc)
            # the delivery's id and channel, not its target: e-mail addresses stay out of the logs
            log.warning("alert delivery %s (%s) failed: %s", d["id"], d["channel"], error)
        attempts = d["attempts"] + 1
        done = error is None
        final = done or d["test"] or attempts >= MAX_ATTEMPTS
        retry = None if final else now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
        with engine.begin() as conn:
            conn.execute(sa.text("""
                UPDATE alert_deliveries SET attempts = :attempts, last_error = coalesce(CAST(:error AS text), last_error),
                       status = CASE WHEN :done THEN 'delivered' WHEN :final THEN 'failed' ELSE 'pending' END,
                       delivered_at = CASE WHEN :done THEN now() END,
                       next_attempt_at = coalesce(CAST(:retry AS timestamptz), next_attempt_at)
                WHERE id = :id"""), {"attempts": attempts, "error": error, "done": done, "final": final,
                                     "retry": retry, "id": d["id"]})
        outcomes.append(Outcome(d["id"], d["channel"], d["target"], done, error))
    return outcomes


def deliver_due(engine: Engine, *, settings: Settings, now: datetime | None = None, limit: int = 20) -> list[Outcome]:
    """Send the pending deliveries whose time has come (new ones, and retries after their backoff)."""
    now = _utc(now)
    return _deliver(engine, settings=settings, now=now, where="status = 'pending' AND next_attempt_at <= :now",
                    params={"now": now}, limit=limit)


def send_test(engine: Engine, *, settings: Settings, actor: Actor, id: Any) -> list[Outcome]:
    """Send a test message through the rule's channels now (admin); recorded and audited like a firing,
    never retried."""
    require(actor, "admin")
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        rule = _rule(conn, id)
        text = Text(N_("Test of the alert rule {rule}, sent by {user}: this channel works."), rule=rule.name,
                    user=actor.username)
        firing = _fire(conn, rule, subject="", day=operation_day.today(settings, now=now), attachment=None,
                       message=notifications.render(text, language=settings.language), by=actor.username,
                       test=True, now=now)
        audit.record(conn, username=actor.username, action="create", entity="alert_test", entity_id=firing,
                     after={"rule": rule.id, "channels": [c for c, _t in _channels(rule)]})
    return _deliver(engine, settings=settings, now=now, where="firing_id = :firing", params={"firing": firing},
                    limit=10)


# --- the worker ----------------------------------------------------------------------------------

class Worker:
    """The alerts worker of one process: each minute, if it holds the advisory lock (one worker among
    replicas does), it evaluates the rules and sends what is due."""

    def __init__(self, engine: Engine, *, settings: Settings, interval: float = 60):
        self.engine, self.settings, self.interval = engine, settings, interval
        self._lock: Connection | None = None

    def lead(self) -> bool:
        """True while this worker holds the lock: kept on a connection of its own; a lost connection
        loses it, and the next call tries again."""
        if self._lock is not None:
            try:
                self._lock.execute(sa.text("SELECT 1"))
                self._lock.commit()
                return True
            except sa.exc.DBAPIError:
                log.warning("alerts worker lost its database connection, and the lead with it")
                self.release()
        conn = self.engine.connect()
        try:
            got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
            conn.commit()  # the session's lock outlives the transaction
        except BaseException:
            conn.close()
            raise
        if got:
            self._lock = conn
            log.info("alerts worker is the active one")
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._lock is not None:
            try:
                self._lock.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._lock.commit()
            except sa.exc.DBAPIError:
                pass  # the connection is gone, and the lock with it
            finally:
                self._lock.close()
                self._lock = None

    def tick(self, now: datetime | None = None) -> tuple[Evaluation, list[Outcome]] | None:
        """One round if this worker leads: evaluate, then deliver; None when another worker leads."""
        if not self.lead():
            return None
        evaluation = evaluate(self.engine, settings=self.settings, now=now)
        return evaluation, deliver_due(self.engine, settings=self.settings, now=now)

    def run(self, *, stop: threading.Event | None = None, once: bool = False) -> None:
        """Tick at the start of every interval (every minute by default) until `stop` is set."""
        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - one bad round must not stop the alerts
                    log.exception("alerts round failed; trying again next round")
                if once:
                    break
                stop.wait(self.interval - clock.time() % self.interval)
        finally:
            self.release()
