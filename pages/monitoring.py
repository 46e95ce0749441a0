"""Monitoring (admin): health of each part, totals, loads, slowest operations, database and host.

The panel redraws itself on a timer (st.fragment), so a load can be watched to its end.
"""
from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from core import loading, operations
from dashboard.auth import recheck_role, require_role
from dashboard.common import engine, settings
from dashboard.ui import md

require_role("admin")

REFRESH = {"5 s": 5, "15 s": 15, "1 min": 60, "Off": None}


def size(n: int | float | None) -> str:
    """Bytes in a readable unit."""
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def load_row(job: loading.LoadJob) -> dict:
    """A load as a line of the table: progress and speed as on the Upload page (so far, if running)."""
    speed = job.speed
    return {"job": job.id, "file": job.file_name, "kind": job.kind, "by": job.username, "status": job.status,
            "doing": job.doing if job.active else "", "progress": job.progress, "rows read": job.rows_read,
            "inserted": job.inserted, "updated": job.updated, "unchanged": job.unchanged,
            "rejected": job.rejected, "seconds": speed.seconds, "rows/s": speed.rows_per_second,
            "started": job.created_at}


st.title("Monitoring")
refresh = st.segmented_control("Refresh by itself every", list(REFRESH), default="15 s",
                               help="How often the panel below updates without a click.")


@st.fragment(run_every=REFRESH.get(refresh or "Off"))
def panel() -> None:
    recheck_role("admin")  # a timed rerun of the fragment skips the entrypoint's checks
    report = operations.monitor(engine(), settings())
    st.caption(f"Version {report.version} · updated {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC")

    st.subheader("Health")
    for check in report.checks:
        if check.ok:
            st.markdown(f":green[:material/check_circle:] **{check.name}**: {md(check.detail)}")
        else:
            st.error(f"**{check.name}** failed: {md(check.detail)}", icon=":material/error:")

    if report.totals is not None:
        st.subheader("Data")
        t = report.totals
        cols = st.columns(5)
        cols[0].metric("Services", f"{t.services:,}")
        cols[1].metric("Customers", f"{t.customers:,}")
        cols[2].metric("Stub customers", f"{t.stub_customers:,}",
                       help="Customers known only from a service (id_cliente); no name yet.")
        cols[3].metric("Polos", f"{t.polos:,}")
        cols[4].metric("Angels", f"{t.angels:,}")

    if report.loads is not None:
        st.subheader("Recent loads")
        if report.loads:
            st.dataframe(pd.DataFrame([load_row(j) for j in report.loads]), hide_index=True, width="stretch",
                         column_config={
                             "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                             "seconds": st.column_config.NumberColumn(format="%.1f"),
                             "rows/s": st.column_config.NumberColumn(format="%.0f"),
                             "started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
        else:
            st.info("No file has been loaded yet.")

    if report.timings is not None:
        st.subheader(f"Slowest operations (last {operations.TIMINGS_HOURS} h)")
        if report.timings:
            st.dataframe(pd.DataFrame([{
                "operation": o.operation, "runs": o.count, "p50 ms": o.p50_ms, "p95 ms": o.p95_ms,
                "max ms": o.max_ms, "failures": o.failures, "last run": o.last_at,
            } for o in report.timings]), hide_index=True, width="stretch", column_config={
                **{c: st.column_config.NumberColumn(format="%.1f") for c in ("p50 ms", "p95 ms", "max ms")},
                "last run": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            })
        else:
            st.info("No timings recorded yet.")

    left, right = st.columns(2)
    with left:
        st.subheader("Database")
        db = report.database
        if db is None:
            st.error("The database cannot be reached; see Health above.")
        else:
            c1, c2, c3 = st.columns(3)
            c1.metric("PostgreSQL", db.version)
            c2.metric("Size", size(db.size_bytes))
            c3.metric("Connections", db.connections)
            st.dataframe(pd.DataFrame([{"table": t.name, "rows (estimate)": t.rows, "size": size(t.bytes)}
                                       for t in db.tables]), hide_index=True, width="stretch")
    with right:
        st.subheader("Host")
        h = report.host
        c1, c2, c3 = st.columns(3)
        c1.metric("CPU", f"{h.cpu_percent:.0f}%", help=f"{h.cpus} CPUs; load average "
                  + " / ".join(f"{x:.2f}" for x in h.load_average) + " (1, 5, 15 min)")
        c2.metric("Memory used", f"{h.memory_used_percent:.0f}%",
                  help=f"of {size(h.memory_total)}; this dashboard process uses {size(h.process_memory)}")
        c3.metric("Disk used", f"{h.disk_used_percent:.0f}%",
                  help=f"{size(h.disk_free)} free of {size(h.disk_total)} on {h.disk_path} (the data dir)")


panel()
