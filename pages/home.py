"""Home: what is in the database and where to go next."""
import streamlit as st

from core import demo, records_summary
from core.accounts import can
from dashboard.auth import require_role
from dashboard.common import engine, read, settings
from dashboard.ui import done, flash

actor = require_role("viewer")

st.title("Logistics indicators")
st.caption("Productivity and SLA of the Green Angels (field technicians), per polo and per technician.")
flash("home")

summary = read(records_summary.summary)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Services", f"{summary.services:,}")
c2.metric("Customers", f"{summary.customers:,}",
          help="Includes customers known only by id, created when a service arrived before them.")
c3.metric("Customers known only by id", f"{summary.stub_customers:,}")
c4.metric("Polos · Green Angels", f"{summary.polos:,} · {summary.angels:,}")

if summary.services == 0:
    st.info("The database is empty. An analyst or admin can load the service history and the "
            "customers file to see the indicators.")
    if can(actor, "analyst"):
        st.write("Or try the dashboard with realistic demo data (20,000 services and their customers, "
                 "shaped like the operation's export). Load your own files later on the Upload page: "
                 "they update the same records.")
        if st.button("Load the demo data", icon=":material/dataset:", type="primary"):
            with st.spinner("Writing and loading the demo files..."):
                reports = demo.load_demo(engine(), actor=actor, settings=settings())
            loaded = "; ".join(f"{r.file_name}: {r.rows:,} lines, {r.inserted:,} inserted" for r in reports)
            done("home", f"Demo data loaded. {loaded}.")
else:
    st.write(f"Deadlines from **{summary.first_deadline:%d/%m/%Y}** to **{summary.last_deadline:%d/%m/%Y}**; "
             f"visits from **{summary.first_visit:%d/%m/%Y}** to **{summary.last_visit:%d/%m/%Y}**."
             if summary.first_visit else
             f"Deadlines from **{summary.first_deadline:%d/%m/%Y}** to **{summary.last_deadline:%d/%m/%Y}**; no visits yet.")
