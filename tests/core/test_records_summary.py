"""Home and Monitoring totals, read from the rollups and indexes, on hand-checked services."""
from datetime import date, datetime

import sqlalchemy as sa

from core.records_summary import summary
from tests.core.test_indicators import insert_services


def test_summary_counts_and_date_range(conn):
    empty = summary(conn)
    assert (empty.services, empty.polos, empty.angels, empty.first_deadline) == (0, 0, 0, None)
    insert_services(conn)  # 10 services of one stub customer, 2 polos, 3 angels
    conn.execute(sa.text("INSERT INTO customers (id, nome) VALUES (2, 'Ana')"))
    s = summary(conn)
    assert (s.customers, s.stub_customers, s.services, s.polos, s.angels) == (2, 1, 10, 2, 3)
    assert (s.first_deadline, s.last_deadline) == (date(2022, 3, 1), date(2022, 4, 5))
    assert (s.first_visit, s.last_visit) == (datetime(2022, 2, 28, 8, 0), datetime(2022, 3, 31, 23, 59))
    conn.execute(sa.text("DELETE FROM services WHERE polo LIKE 'SP%'"))  # the SP polo had one angel
    assert (summary(conn).polos, summary(conn).angels) == (1, 2)
