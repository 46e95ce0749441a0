"""Monitoring (admin): health of each part, totals, loads, slowest operations, database and host.

The panel redraws itself on a timer (st.fragment), so a load can be watched to its end.
"""
from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from core import alerts, notifications, operations
from dashboard.auth import recheck_role, require_role
from dashboard.common import engine, read_fresh, settings
from dashboard.i18n import N_, _, decimal, moment, number, percent, stored_text
from dashboard.ui import loads_table, md, table, word

actor = require_role("admin")

REFRESH = {"5 s": 5, "15 s": 15, "1 min": 60, N_("Off"): None}
# The health checks by the name core gives them (core.operations.health); their details stay English
# (paths, versions, the server's own words).
CHECKS = {"data dir writable": N_("data dir writable"), "embedded server": N_("embedded server"),
          "database reachable": N_("database reachable"), "migrations current": N_("migrations current")}


def size(n: int | float | None) -> str:
    """Bytes in a readable unit."""
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024:
            return f"{number(n)} {unit}" if unit == "B" else f"{decimal(n, 1)} {unit}"
        n /= 1024
    return f"{decimal(n, 1)} TB"


st.title(_("Monitoring"))
refresh = st.segmented_control(_("Refresh by itself every"), list(REFRESH), default="15 s",
                               format_func={k: _(k) for k in REFRESH}.get,
                               help=_("How often the panel below updates without a click."))


def failing_alerts(admin) -> None:
    """Alert deliveries that failed for good or wait for a retry (core.alerts; the Alerts page has them all)."""
    st.subheader(_("Alert deliveries failing"))
    failing = read_fresh(alerts.failing_deliveries, actor=admin)
    if not failing:
        st.caption(_("Every alert sent was delivered."))
        return
    table(pd.DataFrame([{
        "when": d.fired_at.replace(tzinfo=None), "rule": d.rule_name, "subject": d.subject, "channel": d.channel,
        "to": d.target, "status": d.status, "attempts": d.attempts,
        "error": stored_text(d.last_error, notifications.REASONS),
        "next": d.next_attempt_at.replace(tzinfo=None) if d.status == "pending" else None} for d in failing]),
        seconds=("when", "next"), words={"status": {"pending": N_("waiting to retry"), "failed": N_("failed")}},
        column_config={"rule": _("Rule"), "subject": _("Polo or load"), "channel": _("Channel"), "to": _("To"),
                       "status": _("Delivery"), "attempts": _("Attempts"), "error": _("Last error"),
                       "next": _("Next attempt (UTC)")})


@st.fragment(run_every=REFRESH.get(refresh or "Off"))
def panel() -> None:
    recheck_role("admin")  # a timed rerun of the fragment skips the entrypoint's checks
    report = operations.monitor(engine(), settings=settings())
    st.caption(_("Version {version} · updated {moment} UTC").format(
        version=report.version, moment=moment(datetime.now(timezone.utc).replace(tzinfo=None), seconds=True)))

    st.subheader(_("Health"))
    checks = word(CHECKS)
    for check in report.checks:
        if check.ok:
            st.markdown(":green[:material/check_circle:] " + _("**{check}**: {detail}").format(
                check=checks(check.name), detail=md(check.detail)))
        else:
            st.error(_("**{check}** failed: {detail}").format(check=checks(check.name), detail=md(check.detail)),
                     icon=":material/error:")

    if report.totals is not None:
        st.subheader(_("Data"))
        t = report.totals
        cols = st.columns(5)
        cols[0].metric(_("Services"), number(t.services))
        cols[1].metric(_("Customers"), number(t.customers))
        cols[2].metric(_("Stub customers"), number(t.stub_customers),
                       help=_("Customers known only from a service (id_cliente); no name yet."))
        cols[3].metric("Polos", number(t.polos))
        cols[4].metric("Angels", number(t.angels))

    if report.loads is not None:
        st.subheader(_("Recent loads"))
        if report.loads:
            loads_table(report.loads, live=True)
        else:
            st.info(_("No file has been loaded yet."))

    if report.database is not None:
        failing_alerts(actor)

    if report.timings is not None:
        st.subheader(_("Slowest operations (last {hours} h)").format(hours=operations.TIMINGS_HOURS))
        if report.timings:
            table(pd.DataFrame([{
                "operation": o.operation, "runs": o.count, "p50 ms": o.p50_ms, "p95 ms": o.p95_ms,
                "max ms": o.max_ms, "failures": o.failures, "last run": o.last_at,
            } for o in report.timings]), seconds=("last run",))
        else:
            st.info(_("No timings recorded yet."))

    left, right = st.columns(2)
    with left:
        st.subheader(_("Database"))
        db = report.database
        if db is None:
            st.error(_("The database cannot be reached; see Health above."))
        else:
            c1, c2, c3 = st.columns(3)
            c1.metric("PostgreSQL", db.version)
            c2.metric(_("Size"), size(db.size_bytes))
            c3.metric(_("Connections"), number(db.connections))
            table(pd.DataFrame([{"table": t.name, "rows (estimate)": t.rows, "size": size(t.bytes)}
                                for t in db.tables]))
    with right:
        st.subheader(_("Host"))
        h = report.host
        c1, c2, c3 = st.columns(3)
        c1.metric("CPU", percent(h.cpu_percent / 100, 0), help=_("{cpus} CPUs; load average {load} (1, 5, 15 min)").format(
            cpus=h.cpus, load=" / ".join(decimal(x) for x in h.load_average)))
        c2.metric(_("Memory used"), percent(h.memory_used_percent / 100, 0),
                  help=_("of {total}; this dashboard process uses {process}").format(
                      total=size(h.memory_total), process=size(h.process_memory)))
        c3.metric(_("Disk used"), percent(h.disk_used_percent / 100, 0),
                  help=_("{free} free of {total} on {path} (the data dir)").format(
                      free=size(h.disk_free), total=size(h.disk_total), path=h.disk_path))


panel()
