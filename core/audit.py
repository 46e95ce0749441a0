"""Audit trail: who did what, written in the same transaction as the change."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection


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


def _audit_where(username, entity, entity_id, action, since, until) -> tuple[list[str], dict[str, Any]]:
    where, params = [], {}
    if username:
        where.append("username = :username")
        params["username"] = username
    if entity:
        where.append("entity = :entity")
        params["entity"] = entity
    if entity_id not in (None, ""):
        where.append("entity_id = :entity_id")
        params["entity_id"] = str(entity_id).strip()
    if action:
        where.append("action = :action")
        params["action"] = action
    if since:  # dates are whole days, inclusive, in the server's time zone
        where.append("at >= :since")
        params["since"] = since
    if until:
        where.append("at < :until")
        params["until"] = until + timedelta(days=1)
    return where, params


def list_audit(conn: Connection, *, username: str | None = None, entity: str | None = None,
               entity_id: Any = None, action: str | None = None, since: date | None = None,
               until: date | None = None, before_id: int | None = None,
               limit: int = 100) -> tuple[list[AuditEntry], int]:
    """Audit rows, newest first, matching every given filter, and their total count.

    Pages by keyset: pass the last row's id as `before_id` for the next (older) page."""
    where, params = _audit_where(username, entity, entity_id, action, since, until)
    count_sql = "SELECT count(*) FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "")
    total = conn.scalar(sa.text(count_sql), params)
    if before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = before_id
    rows = conn.execute(sa.text(
        "SELECT id, at, username, action, entity, entity_id, before, after FROM audit_log"
        + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT :limit"),
        {**params, "limit": limit}).mappings().all()
    return [AuditEntry(**r) for r in rows], total


def audit_choices(conn: Connection) -> dict[str, list[str]]:
    """Usernames and entities present in the log (for the audit page's pickers)."""
    users = list(conn.scalars(sa.text("SELECT DISTINCT username FROM audit_log ORDER BY 1")))
    entities = list(conn.scalars(sa.text("SELECT DISTINCT entity FROM audit_log ORDER BY 1")))
    return {"usernames": users, "entities": entities}
