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
    """Counts of customers (and stubs), services, polos and angels, and the data's date range.

    Read where it is cheap: polos and angels from the indicator rollups (every service is in
    them, by deadline day), the date range from the deadline and visit indexes. A scan of the
    million-row services table for DISTINCT took over a second, on every Home and Monitoring run.
    """
    row = conn.execute(sa.text("""
        SELECT (SELECT count(*) FROM customers) AS customers,
               (SELECT count(*) FROM customers WHERE is_stub) AS stub_customers,
               (SELECT count(*) FROM services) AS services,
               (SELECT count(DISTINCT polo) FROM sla_polo_daily) AS polos,
               (SELECT count(DISTINCT a.name) FROM angels a
                WHERE EXISTS (SELECT 1 FROM sla_angel_months m WHERE m.angel_id = a.id)) AS angels,
               (SELECT min(data_limite) FROM services) AS first_deadline,
               (SELECT max(data_limite) FROM services) AS last_deadline,
               (SELECT min(data_de_atendimento) FROM services) AS first_visit,
               (SELECT max(data_de_atendimento) FROM services) AS last_visit""")).mappings().one()
    return Summary(**row)
