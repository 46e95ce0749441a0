"""Totals of what the database holds (home page, monitoring, watching a load finish)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Summary:
    customers: int
    stub_customers: int
    services: int
    polos: int
    angels: int
    first_deadline: date | None
    last_deadline: date | None
    first_visit: datetime | None
    last_visit: datetime | None


def summary(conn: Connection) -> Summary:
    """Counts of customers (and stubs), services, polos and angels, and the data's date range."""
    row = conn.execute(sa.text("""
        SELECT (SELECT count(*) FROM customers) AS customers,
               (SELECT count(*) FROM customers WHERE is_stub) AS stub_customers,
               count(*) AS services,
               count(DISTINCT polo) AS polos,
               count(DISTINCT angel) AS angels,
               min(data_limite) AS first_deadline, max(data_limite) AS last_deadline,
               min(data_de_atendimento) AS first_visit, max(data_de_atendimento) AS last_visit
        FROM services""")).mappings().one()
    return Summary(**row)
