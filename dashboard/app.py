"""Streamlit entrypoint: page config, login, navigation by role, then the page.

Run with `streamlit run dashboard/app.py`. Every page is registered always (so a direct URL works
after login and a forbidden one says so), and the sidebar lists only what the role may use.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

import core  # noqa: E402
from core import telemetry  # noqa: E402
from core.accounts import can  # noqa: E402
from dashboard import auth  # noqa: E402
from dashboard.common import engine, settings  # noqa: E402

# (script in pages/, title, icon, least role, section). Order = sidebar order.
PAGES = [
    ("home.py", "Home", ":material/home:", "viewer", "Dashboard"),
    ("upload.py", "Upload", ":material/upload_file:", "analyst", "Data"),
    ("overview.py", "Overview", ":material/dashboard:", "viewer", "Indicators"),
    ("sla_polo.py", "SLA by polo", ":material/location_city:", "viewer", "Indicators"),
    ("sla_angel.py", "SLA by angel", ":material/person_pin_circle:", "viewer", "Indicators"),
    ("productivity.py", "Productivity", ":material/speed:", "viewer", "Indicators"),
    ("customers.py", "Customers", ":material/person:", "viewer", "Records"),
    ("services.py", "Services", ":material/assignment:", "viewer", "Records"),
    ("users.py", "Users", ":material/group:", "admin", "Admin"),
    ("calendar.py", "Calendar", ":material/event_busy:", "admin", "Admin"),
    ("audit.py", "Audit log", ":material/history:", "admin", "Admin"),
    ("monitoring.py", "Monitoring", ":material/monitor_heart:", "admin", "Admin"),
]

st.set_page_config(page_title="Logistics indicators", page_icon=":material/local_shipping:",
                   layout="wide")

telemetry.configure_logging(settings().log_level)  # JSON lines on stderr; cheap on every run
engine()  # start/attach the database before anything else
telemetry.persist_timings(settings(), source="dashboard", engine=engine())  # schema now current
pages = {title: st.Page(ROOT / "pages" / script, title=title, icon=icon, default=(i == 0))
         for i, (script, title, icon, _, _) in enumerate(PAGES)}
page = st.navigation(list(pages.values()), position="hidden")

authenticator = auth.build_authenticator()
account_box = st.sidebar.empty()  # emptied when the user logs out in this run
# Pages draw their sidebar filters here (dashboard.common.page_sidebar), above the long page list.
st.session_state["app_page_sidebar"] = st.sidebar.container()


def account_controls() -> None:
    with account_box.container():
        auth.account_box(authenticator)


was_logged_in = bool(st.session_state.get("authentication_status"))
if was_logged_in:
    account_controls()  # before the login check, so a click logs out in this very run
welcome = st.empty()
if not st.session_state.get("authentication_status"):
    with welcome.container():
        st.title("Logistics indicators")
        st.caption("Productivity and SLA of the Green Angels, per polo and per technician.")
actor = auth.login(authenticator)
if actor is None:
    if not st.session_state.get("authentication_status"):
        account_box.empty()
    if settings().allow_signup and not st.session_state.get("authentication_status"):
        auth.signup_form()
    st.stop()
if not was_logged_in:  # logged in during this run
    welcome.empty()
    account_controls()

with st.sidebar:
    section = None
    for script, title, icon, role, sec in PAGES:
        if can(actor, role):
            if sec != section:
                st.caption(sec)
                section = sec
            st.page_link(pages[title], label=title, icon=icon)
    st.divider()
    st.caption(f"Role: {actor.role} · v{core.__version__}")

# One JSON line per page run (page, user, duration, outcome); timings feed the monitoring page.
with telemetry.timed(f"page.{page.url_path or 'home'}", logging.getLogger("dashboard.pages"),
                     page=page.title, user=actor.username):
    page.run()
