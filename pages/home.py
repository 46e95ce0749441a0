"""Home: what is in the database and where to go next."""
import streamlit as st

from core import demo, records_summary
from core.accounts import can
from dashboard.auth import require_role
from dashboard.common import engine, read, settings
from dashboard.i18n import _, date_range, number
from dashboard.ui import done, flash

actor = require_role("viewer")

st.title(_("Logistics indicators"))
st.caption(_("Productivity and SLA of the Green Angels (field technicians), per polo and per technician."))
flash("home")

summary = read(records_summary.summary)
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("Services"), number(summary.services))
c2.metric(_("Customers"), number(summary.customers),
          help=_("Includes customers known only by id, created when a service arrived before them."))
c3.metric(_("Customers known only by id"), number(summary.stub_customers))
c4.metric(_("Polos · Green Angels"), f"{number(summary.polos)} · {number(summary.angels)}")

if summary.services == 0:
    st.info(_("The database is empty. An analyst or admin can load the service history and the "
              "customers file to see the indicators."))
    if can(actor, "analyst"):
        st.write(_("Or try the dashboard with realistic demo data ({n} services and their customers, "
                   "shaped like the operation's export). Load your own files later on the Upload page: "
                   "they update the same records.").format(n=number(20_000)))
        st.caption(_("The demo is a live day: its deadlines end a few days after today, today's morning visits "
                     "are done and the rest of the day is still open, as the Today page shows."))
        if st.button(_("Load the demo data"), icon=":material/dataset:", type="primary"):
            with st.spinner(_("Writing and loading the demo files...")):
                reports = demo.load_demo(engine(), actor=actor, settings=settings())
            loaded = "; ".join(_("{file}: {lines} lines, {inserted} inserted").format(
                file=r.file_name, lines=number(r.rows), inserted=number(r.inserted)) for r in reports)
            done("home", _("Demo data loaded. {loaded}.").format(loaded=loaded))
else:
    st.page_link("../pages/today.py", label=_("Today: what is still open, where"), icon=":material/today:")
    deadlines = date_range(summary.first_deadline, summary.last_deadline)
    st.write(_("Deadlines **{deadlines}**; visits **{visits}**.").format(
        deadlines=deadlines, visits=date_range(summary.first_visit, summary.last_visit))
             if summary.first_visit else
             _("Deadlines **{deadlines}**; no visits yet.").format(deadlines=deadlines))
