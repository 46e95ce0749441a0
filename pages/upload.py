"""Upload: load the services export and the customers file, watch the load live, read its report."""
import pandas as pd
import streamlit as st

from core import loading
from dashboard.auth import recheck_role, require_role
from dashboard.common import engine, read_fresh, settings, write
from dashboard.ui import download_buttons, md

actor = require_role("analyst")

st.title("Upload")
st.caption("Load the operation's services export (bd_desafio.csv) and customers file (customers_data.csv). "
           "A line that cannot be read is set aside with its line number and the reason; the rest loads. "
           "Loading the same file again changes nothing. Services may arrive before their customers.")

jobs = read_fresh(loading.list_jobs, limit=50)
running = [j for j in jobs if j.active]


def spooled_file(kind: str, uploaded) -> dict:
    """The upload copied to the data directory and inspected, once per uploaded file."""
    key = f"upload_spooled_{kind}"
    entry = st.session_state.get(key)
    if entry is None or entry["file_id"] != uploaded.file_id:
        if entry and entry.get("path"):  # replaced by another file before it was loaded
            entry["path"].unlink(missing_ok=True)
        loading.clean_spool(engine(), settings=settings())  # uploads dropped earlier and never loaded
        path = loading.spool_upload(settings(), source=uploaded, file_name=uploaded.name)
        try:
            entry = {"file_id": uploaded.file_id, "path": path,
                     "info": loading.inspect_file(path, kind=kind, file_name=uploaded.name)}
        except loading.FileRefused as exc:
            path.unlink(missing_ok=True)  # nothing was written; keep nothing either
            entry = {"file_id": uploaded.file_id, "error": str(exc)}
        st.session_state[key] = entry
    return entry


def upload_box(kind: str, title: str) -> None:
    st.subheader(title)
    uploaded = st.file_uploader(f"Drop the {loading.KIND_LABELS[kind]} here", type=["csv", "txt"],
                                key=f"upload_file_{kind}")
    if uploaded is None:
        return
    started = st.session_state.get(f"upload_started_{kind}")
    if started and started[0] == uploaded.file_id:
        st.caption(f"{md(uploaded.name)} went to load {started[1]} (below). Drop another file to load it.")
        return
    entry = spooled_file(kind, uploaded)
    if "error" in entry:
        st.error(entry["error"])
        return
    info = entry["info"]
    st.caption(f"Detected: {info.describe()}; about {info.estimated_rows:,} lines "
               f"({info.size / 1e6:.1f} MB).")
    columns = list(loading.COLUMNS[kind])
    preview = [(row + [""] * len(columns))[:len(columns)] for row in info.preview[:5]]
    st.dataframe(pd.DataFrame(preview, columns=columns), hide_index=True, width="stretch")
    if st.button(f"Load {md(uploaded.name)}", key=f"upload_start_{kind}", type="primary", icon=":material/upload:"):
        job_id = write(loading.create_job, actor=actor, info=info, file_name=uploaded.name,
                       owns_source=True, settings=settings())
        loading.start_in_background(engine(), job_id=job_id, actor=actor, settings=settings())
        st.session_state.pop(f"upload_spooled_{kind}", None)  # the spooled file now belongs to the job
        st.session_state[f"upload_started_{kind}"] = (uploaded.file_id, job_id)
        st.session_state["upload_watched_job"] = job_id
        st.rerun()


left, right = st.columns(2)
with left:
    upload_box("services", "Services")
with right:
    upload_box("customers", "Customers")


@st.fragment(run_every=1.0 if running else None)
def live_progress() -> None:
    """Redraws every second while a load runs (progress lives in the job row, so a reload or
    another user sees it too); reruns the page once when the last one ends."""
    recheck_role("analyst")  # a timed rerun of the fragment skips the entrypoint's checks
    now_running = [j for j in read_fresh(loading.list_jobs, limit=50) if j.active]
    for job in now_running:
        speed = job.speed
        reading = job.phase != "writing"  # rows/s is the reading speed; writing has its steps
        details = ([job.doing] + ([f"{speed.rows_per_second:,.0f} rows/s"] if speed.rows_per_second and reading else [])
                   + ([f"about {speed.seconds_left:,.0f} s left"] if speed.seconds_left else []))
        st.progress(job.progress, text=f"Load {job.id} · {job.file_name}: {job.progress:.0%} · " + " · ".join(details))
    if running and not now_running:
        st.rerun(scope="app")


if running:
    st.subheader("Loading")
    live_progress()

finished = [j for j in jobs if not j.active]
if finished:
    watched = st.session_state.get("upload_watched_job")
    last = next((j for j in finished if j.id == watched), finished[0])
    st.subheader(f"Load {last.id}: {md(last.file_name)}")
    if last.status == "done":
        st.progress(1.0, text=f"Load {last.id} · {last.file_name}: 100% · done")
        st.success(f"Loaded {last.rows_read:,} lines in {last.seconds:.1f} s "
                   f"({last.rows_per_second or 0:,.0f} rows/s).", icon=":material/check_circle:")
        cols = st.columns(6)
        cols[0].metric("Lines read", f"{last.rows_read:,}")
        cols[1].metric("Inserted", f"{last.inserted:,}")
        cols[2].metric("Updated", f"{last.updated:,}")
        cols[3].metric("Unchanged", f"{last.unchanged:,}")
        cols[4].metric("Rejected", f"{last.rejected:,}",
                       help=f"Includes {last.duplicates or 0:,} lines whose id appears again later in the file "
                            "(the later line was loaded).")
        if last.kind == "services":
            cols[5].metric("New customer ids", f"{last.stub_customers:,}",
                           help="Customers known only by their id, created so no service is lost; "
                                "the customers file fills them in.")
        else:
            cols[5].metric("Customers filled in", f"{last.stubs_filled:,}",
                           help="Customers first seen in the services file, now with name, email and phone.")
        if last.rejected:
            rejects = pd.DataFrame(read_fresh(loading.job_rejects, job_id=last.id, limit=100_000),
                                   columns=["line", "reason", "raw"])
            st.dataframe(rejects.head(1000), hide_index=True, width="stretch")
            download_buttons(rejects, f"rejected lines of load {last.id}", key=f"upload_rejects_{last.id}")
    elif last.status == "interrupted":
        st.warning("This load was cut short (the server stopped). Resume it below: it goes on from the "
                   "lines already read, without duplicates.", icon=":material/pause_circle:")
    else:
        st.error(last.message or "This load failed; nothing from it was written.", icon=":material/error:")

    resumable = {j.id: j for j in finished if j.status in ("interrupted", "failed")}
    if resumable:
        choice = st.selectbox("Interrupted or failed loads", list(resumable),
                              format_func=lambda i: f"Load {i} · {resumable[i].file_name} · {resumable[i].status}")
        if st.button("Resume", icon=":material/play_arrow:"):
            loading.start_in_background(engine(), job_id=choice, actor=actor, settings=settings())
            st.session_state["upload_watched_job"] = choice
            st.rerun()

if jobs:
    st.subheader("History")
    history = pd.DataFrame([{
        "load": j.id, "when": j.created_at, "who": j.username, "kind": j.kind, "file": j.file_name,
        "MB": round(j.file_size / 1e6, 1), "status": j.status, "lines": j.rows_read,
        "inserted": j.inserted, "updated": j.updated, "unchanged": j.unchanged, "rejected": j.rejected,
        "stubs": j.stub_customers, "seconds": j.seconds, "rows/s": j.rows_per_second} for j in jobs])
    st.dataframe(history, hide_index=True, width="stretch", column_config={
        "when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "seconds": st.column_config.NumberColumn(format="%.1f"),
        "rows/s": st.column_config.NumberColumn(format="%.0f")})
else:
    st.info("No loads yet. Drop a file above, or create demo files with `python -m core demo --out demo`.")
