"""Upload: load the services export and the customers file, watch the load live, read its report."""
import pandas as pd
import streamlit as st

from core import loading
from dashboard.auth import recheck_role, require_role
from dashboard.common import engine, read_fresh, settings
from core.parsing import REASONS
from dashboard.i18n import N_, _, decimal, number, percent, stored_text, text
from dashboard.ui import (LOAD_STATUSES, download_buttons, heading, loads_table, md, refusals_shown, show_refusal,
                          table, word)

actor = require_role("analyst")

st.title(_("Upload"))
st.caption(_("Load the operation's services export (bd_desafio.csv) and customers file (customers_data.csv). "
             "A line that cannot be read is set aside with its line number and the reason; the rest loads. "
             "Loading the same file again changes nothing. Services may arrive before their customers."))
DROP = {"services": N_("Drop the services file (bd_desafio.csv) here"),
        "customers": N_("Drop the customers file (customers_data.csv) here")}

jobs = read_fresh(loading.list_jobs, limit=50)
running = [j for j in jobs if j.active]


def spooled_file(kind: str, uploaded) -> dict:
    """The upload copied to the data directory and inspected for its preview, once per uploaded file
    (loading it: core.loading.accept_file)."""
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
            entry = {"file_id": uploaded.file_id, "error": exc}
        st.session_state[key] = entry
    return entry


def upload_box(kind: str, title: str) -> None:
    st.subheader(title)
    uploaded = st.file_uploader(_(DROP[kind]), type=["csv", "txt"],
                                key=f"upload_file_{kind}")
    if uploaded is None:
        return
    started = st.session_state.get(f"upload_started_{kind}")
    if started and started[0] == uploaded.file_id:
        st.caption(_("{file} went to load {id} (below). Drop another file to load it.").format(
            file=md(uploaded.name), id=started[1]))
        return
    entry = spooled_file(kind, uploaded)
    if "error" in entry:
        show_refusal(entry["error"])
        return
    info = entry["info"]
    st.caption(_("Detected: {what}; about {lines} lines ({mb} MB).").format(
        what=text(info.describe()), lines=number(info.estimated_rows), mb=decimal(info.size / 1e6, 1)))
    columns = list(loading.COLUMNS[kind])
    preview = [(row + [""] * len(columns))[:len(columns)] for row in info.preview[:5]]
    table(pd.DataFrame(preview, columns=columns))  # the file's text as read, under translated headings
    if st.button(_("Load {file}").format(file=md(uploaded.name)), key=f"upload_start_{kind}", type="primary", icon=":material/upload:"):
        st.session_state.pop(f"upload_spooled_{kind}", None)  # the spooled file now belongs to the job
        with refusals_shown():
            job = loading.accept_file(engine(), path=entry["path"], kind=kind, file_name=uploaded.name, actor=actor,
                                      settings=settings(), spooled=True)
            st.session_state[f"upload_started_{kind}"] = (uploaded.file_id, job.id)
            st.session_state["upload_watched_job"] = job.id
            st.rerun()


left, right = st.columns(2)
with left:
    upload_box("services", _("Services"))
with right:
    upload_box("customers", _("Customers"))


@st.fragment(run_every=1.0 if running else None)
def live_progress() -> None:
    """Redraws every second while a load runs (progress lives in the job row, so a reload or
    another user sees it too); reruns the page once when the last one ends."""
    recheck_role("analyst")  # a timed rerun of the fragment skips the entrypoint's checks
    now_running = [j for j in read_fresh(loading.list_jobs, limit=50) if j.active]
    for job in now_running:
        speed = job.speed
        reading = job.phase != "writing"  # rows/s is the reading speed; writing has its steps
        details = ([text(job.activity)] + ([_("{n} rows/s").format(n=number(speed.rows_per_second))]
                                  if speed.rows_per_second and reading else [])
                   + ([_("about {n} s left").format(n=number(speed.seconds_left))] if speed.seconds_left else []))
        st.progress(job.progress, text=_("Load {id} · {file}: {percent}").format(  # the text is Markdown
            id=job.id, file=md(job.file_name), percent=percent(job.progress, 0)) + " · " + " · ".join(details))
    if running and not now_running:
        st.rerun(scope="app")


if running:
    st.subheader(_("Loading"))
    live_progress()

finished = [j for j in jobs if not j.active]
if finished:
    watched = st.session_state.get("upload_watched_job")
    last = next((j for j in finished if j.id == watched), finished[0])
    st.subheader(_("Load {id}: {file}").format(id=last.id, file=md(last.file_name)))
    if last.status == "done":
        st.progress(1.0, text=_("Load {id} · {file}: {percent}").format(id=last.id, file=md(last.file_name),
                                                                        percent=percent(1, 0)) + " · " + _("done"))
        st.success(_("Loaded {lines} lines in {seconds} s ({speed} rows/s).").format(
            lines=number(last.rows_read), seconds=decimal(last.seconds, 1), speed=number(last.rows_per_second or 0)),
            icon=":material/check_circle:")
        cols = st.columns(6)
        cols[0].metric(_("Lines read"), number(last.rows_read))
        cols[1].metric(_("Inserted"), number(last.inserted))
        cols[2].metric(_("Updated"), number(last.updated))
        cols[3].metric(_("Unchanged"), number(last.unchanged))
        cols[4].metric(_("Rejected"), number(last.rejected),
                       help=_("Includes {n} lines whose id appears again later in the file (the later line was "
                              "loaded).").format(n=number(last.duplicates or 0)))
        if last.kind == "services":
            cols[5].metric(_("New customer ids"), number(last.stub_customers),
                           help=_("Customers known only by their id, created so no service is lost; "
                                  "the customers file fills them in."))
        else:
            cols[5].metric(_("Customers filled in"), number(last.stubs_filled),
                           help=_("Customers first seen in the services file, now with name, email and phone."))
        if last.rejected:
            rejects = pd.DataFrame(read_fresh(loading.job_rejects, job_id=last.id, limit=100_000),
                                   columns=["line", "reason", "raw"])
            # load_rejects keeps each reason in English (the API and the CLI give it so); said here
            # in the user's language, in the table and in its download
            rejects["reason"] = [stored_text(r, REASONS.values()) for r in rejects["reason"]]
            table(rejects.head(1000), column_config={"line": st.column_config.NumberColumn(heading("line"), format="%d")})
            download_buttons(rejects, f"rejected lines of load {last.id}", key=f"upload_rejects_{last.id}")
    elif last.status == "interrupted":
        st.warning(_("This load was cut short (the server stopped). Resume it below: it goes on from the "
                     "lines already read, without duplicates."), icon=":material/pause_circle:")
    else:
        st.error(md(stored_text(last.message, loading.JOB_MESSAGES))
                 or _("This load failed; nothing from it was written."), icon=":material/error:")

    resumable = {j.id: j for j in finished if j.status in ("interrupted", "failed")}
    if resumable:
        choice = st.selectbox(_("Interrupted or failed loads"), list(resumable),
                              format_func=lambda i, label=_("Load {id}: {file} · {status}"), status=word(LOAD_STATUSES):
                              label.format(id=i, file=resumable[i].file_name, status=status(resumable[i].status)))
        if st.button(_("Resume"), icon=":material/play_arrow:"):
            loading.start_in_background(engine(), job_id=choice, actor=actor, settings=settings())
            st.session_state["upload_watched_job"] = choice
            st.rerun()

if jobs:
    st.subheader(_("History"))
    loads_table(jobs)
else:
    st.info(_("No loads yet. Drop a file above, or create demo files with `python -m core demo --out demo`."))
