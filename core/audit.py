"""Audit trail: who did what, written in the same transaction as the change."""
from __future__ import annotations

import json
from datetime import date, datetime
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
