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
from core import accounts  # noqa: E402
from core import telemetry  # noqa: E402
from core.accounts import can  # noqa: E402
from core.config import LANGUAGES  # noqa: E402
from dashboard import auth, i18n  # noqa: E402
from dashboard.common import engine, settings, write  # noqa: E402
from dashboard.i18n import N_, _  # noqa: E402

# (script in pages/, title, icon, least role, section). Order = sidebar order.
PAGES = [
    ("home.py", N_("Home"), ":material/home:", "viewer", N_("Dashboard")),
    ("upload.py", N_("Upload"), ":material/upload_file:", "analyst", N_("Data")),
    ("today.py", N_("Today"), ":material/today:", "viewer", N_("Indicators")),
    ("overview.py", N_("Overview"), ":material/dashboard:", "viewer", N_("Indicators")),
    ("sla_polo.py", N_("SLA by polo"), ":material/location_city:", "viewer", N_("Indicators")),
    ("sla_angel.py", N_("SLA by angel"), ":material/person_pin_circle:", "viewer", N_("Indicators")),
    ("productivity.py", N_("Productivity"), ":material/speed:", "viewer", N_("Indicators")),
    ("customers.py", N_("Customers"), ":material/person:", "viewer", N_("Records")),
    ("services.py", N_("Services"), ":material/assignment:", "viewer", N_("Records")),
    ("users.py", N_("Users"), ":material/group:", "admin", N_("Admin")),
    ("calendar.py", N_("Calendar"), ":material/event_busy:", "admin", N_("Admin")),
    ("audit.py", N_("Audit log"), ":material/history:", "admin", N_("Admin")),
    ("monitoring.py", N_("Monitoring"), ":material/monitor_heart:", "admin", N_("Admin")),
    ("alerts.py", N_("Alerts"), ":material/notifications:", "admin", N_("Admin")),
]

if not st.session_state.get("authentication_status"):
    # The login page: the browser's language when it is one of ours, else the LANGUAGE setting.
    i18n.use(i18n.browser_language() or settings().language)
st.set_page_config(page_title=_("Logistics indicators"), page_icon=":material/local_shipping:",
                   layout="wide")

telemetry.configure_logging(settings().log_level)  # JSON lines on stderr; cheap on every run
engine()  # start/attach the database before anything else
telemetry.persist_timings(settings(), source="dashboard", engine=engine())  # schema now current
pages = {title: st.Page(ROOT / "pages" / script, title=_(title), icon=icon, default=(i == 0))
         for i, (script, title, icon, _role, _section) in enumerate(PAGES)}
page = st.navigation(list(pages.values()), position="hidden")

authenticator = auth.build_authenticator()
account_box = st.sidebar.empty()  # emptied when the user logs out in this run
# Pages draw their sidebar filters here (dashboard.common.page_sidebar), above the long page list.
st.session_state["app_page_sidebar"] = st.sidebar.container()


def choose_language() -> None:
    """The user picked a language in the account box: store it with the user, use it from this rerun."""
    chosen, actor = st.session_state.get("app_language"), st.session_state.get(auth.ACTOR_KEY)
    if chosen in LANGUAGES and actor is not None:
        write(accounts.set_language, actor=actor, language=chosen)
        i18n.use(chosen)


def account_controls() -> None:
    with account_box.container():
        auth.account_box(authenticator)
        # The box shows the language in use (the stored choice may have changed in another session).
        st.session_state["app_language"] = i18n.current()
        st.selectbox(_("Language"), list(LANGUAGES), format_func=LANGUAGES.get, key="app_language",
                     on_change=choose_language)


was_logged_in = bool(st.session_state.get("authentication_status"))
if was_logged_in:  # the user's stored language, before the account box draws (auth.login reads it too)
    auth.use_stored_language()
if was_logged_in:
    account_controls()  # before the login check, so a click logs out in this very run
welcome = st.empty()
if not st.session_state.get("authentication_status"):
    with welcome.container():
        st.title(_("Logistics indicators"))
        st.caption(_("Productivity and SLA of the Green Angels, per polo and per technician."))
# The login form, and the component that stores the login cookie when it is submitted, draw in a
# slot that every run keeps at this place (empty once logged in). Streamlit places elements by
# position: without the slot, the run after a login (which that component starts from the browser
# once the cookie is stored) has one element less above the page, so every widget of the page is
# replaced, and a choice or an upload made in that moment is lost.
with st.empty().container():
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
                st.caption(_(sec))
                section = sec
            st.page_link(pages[title], label=_(title), icon=icon)
    st.divider()
    st.caption(_("Role: {role} · v{version}").format(role=actor.role, version=core.__version__))

# One JSON line per page run (page, user, duration, outcome); timings feed the monitoring page.
with telemetry.timed(f"page.{page.url_path or 'home'}", logging.getLogger("dashboard.pages"),
                     page=page.title, user=actor.username):
    page.run()
