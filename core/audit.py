"""Audit trail: who did what, written in the same transaction as the change."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import conditions, keyset_page
from core.messages import N_


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _payload(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps({k: _jsonable(v) for k, v in values.items()}, ensure_ascii=False)


def record(conn: Connection, *, username: str, action: str, entity: str,
           entity_id: Any = None, before: Mapping[str, Any] | None = None,
           after: Mapping[str, Any] | None = None) -> None:
    """Append one audit row on conn (the caller's transaction)."""
    conn.execute(
        sa.text("INSERT INTO audit_log (username, action, entity, entity_id, before, after) "
                "VALUES (:u, :a, :e, :i, CAST(:b AS jsonb), CAST(:f AS jsonb))"),
        {"u": username, "a": action, "e": entity,
         "i": None if entity_id is None else str(entity_id),
         "b": _payload(before), "f": _payload(after)},
    )


ACTIONS = ("create", "update", "delete", "load", "login", "login_failed", "lockout", "logout")
# The log keeps these English words; the dashboard shows them in the user's language.
ACTION_LABELS = {"create": N_("create"), "update": N_("update"), "delete": N_("delete"), "load": N_("load"),
                 "login": N_("login"), "login_failed": N_("failed login"), "lockout": N_("lockout"),
                 "logout": N_("logout")}
ENTITY_LABELS = {"customer": N_("customer"), "service": N_("service"), "user": N_("user"), "api_key": N_("API key"),
                 "non_working_day": N_("non-working day"), "database": N_("database"),
                 "services": N_("services file"), "customers": N_("customers file"),
                 "alert_rule": N_("alert rule"), "alert_test": N_("alert test")}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: str | None
    before: dict | None
    after: dict | None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Fields whose value differs between before and after: {field: (before, after)}."""
        before, after = self.before or {}, self.after or {}
        return {k: (before.get(k), after.get(k)) for k in list(dict.fromkeys([*before, *after]))
                if before.get(k) != after.get(k)}


@dataclass(frozen=True)
class AuditFilter:
    """Audit rows matching every given field; days whole and inclusive, in the server's time zone."""
    username: str | None = None
    entity: str | None = None
    entity_id: Any = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


def _audit_where(f: AuditFilter) -> tuple[list[str], dict[str, Any]]:
    return conditions([
        ("username = :username", "username", f.username),
        ("entity = :entity", "entity", f.entity),
        ("entity_id = :entity_id", "entity_id", None if f.entity_id is None else str(f.entity_id).strip()),
        ("action = :action", "action", f.action),
        ("at >= :since", "since", f.since),
        ("at < :until", "until", f.until and f.until + timedelta(days=1)),
    ])


def list_audit(conn: Connection, *, filters: AuditFilter = AuditFilter(), after: int | None = None,
               before: int | None = None, from_end: bool = False, limit: int = 100) -> list[AuditEntry]:
    """One page of audit rows, newest first, by keyset (core.db.keyset_page): after the row `after`
    (older ones), before the row `before` (newer ones), or the oldest `limit`."""
    where, params = _audit_where(filters)
    sql, page = keyset_page("SELECT id, at, username, action, entity, entity_id, before, after FROM audit_log",
                            where, after=after, before=before, from_end=from_end, limit=limit, newest_first=True)
    return [AuditEntry(**r) for r in conn.execute(sa.text(sql), {**params, **page}).mappings()]


def count_audit(conn: Connection, *, filters: AuditFilter = AuditFilter()) -> int:
    """How many audit rows match the filters."""
    where, params = _audit_where(filters)
    return conn.scalar(sa.text("SELECT count(*) FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "")),
                       params)


def find_audit(conn: Connection, *, filters: AuditFilter = AuditFilter(), after: int | None = None,
               limit: int = 100) -> tuple[list[AuditEntry], int]:
    """A page of audit rows, newest first, and the total count of the filter."""
    return list_audit(conn, filters=filters, after=after, limit=limit), count_audit(conn, filters=filters)


def audit_choices(conn: Connection) -> dict[str, list[str]]:
    """Usernames and entities present in the log (for the audit page's pickers)."""
    users = list(conn.scalars(sa.text("SELECT DISTINCT username FROM audit_log ORDER BY 1")))
    entities = list(conn.scalars(sa.text("SELECT DISTINCT entity FROM audit_log ORDER BY 1")))
    return {"usernames": users, "entities": entities}
