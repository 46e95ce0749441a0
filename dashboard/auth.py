"""Login glue: streamlit-authenticator for the form and the signed cookie, core.accounts for the rest.

The library keeps users in a dict; ours live in PostgreSQL. We give it the active users (no hashes)
and replace its credential check with core.accounts.verify_login, which adds lockout and makes an
unknown name cost the same as a wrong password.
"""
from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from core import accounts
from core.accounts import Actor
from dashboard import i18n
from dashboard.common import engine, read_fresh, settings, write
from dashboard.i18n import _, error_text

ACTOR_KEY = "auth_actor"


def build_authenticator() -> stauth.Authenticate:
    """The one Authenticate of this script run (its cookie component has a fixed key)."""
    cfg = settings()
    users = read_fresh(accounts.list_users)
    credentials = {"usernames": {
        u.username: {"name": u.name, "email": u.email or "", "password": "", "roles": [u.role]}
        for u in users if u.active}}
    authenticator = stauth.Authenticate(
        credentials, cfg.auth_cookie_name, cfg.cookie_key(), cfg.auth_cookie_expiry_days,
        auto_hash=False)

    def check_credentials(username: str, password: str) -> bool:
        with engine().begin() as conn:
            return accounts.verify_login(conn, username, password, settings=cfg)

    authenticator.authentication_controller.authentication_model.check_credentials = check_credentials
    return authenticator


def login(authenticator: stauth.Authenticate) -> Actor | None:
    """Show the login form (or restore the login from the cookie); return the actor if logged in."""
    try:
        authenticator.login(location="main", fields={
            "Form name": _("Log in"), "Username": _("Username"), "Password": _("Password"),
            "Login": _("Log in")})
    except LoginError:
        st.session_state["authentication_status"] = False
    status = st.session_state.get("authentication_status")
    if status is False:
        st.error(_("Wrong username or password, or the account is locked or deactivated. "
                   "After too many failures an account locks for a while; an admin can unlock it."))
    if not status:
        st.session_state.pop(ACTOR_KEY, None)
        return None
    user = read_fresh(accounts.get_user, username=st.session_state.get("username") or "")
    if user is None or not user.active:
        st.session_state["authentication_status"] = None
        st.session_state.pop(ACTOR_KEY, None)
        st.error(_("This account is no longer active. Ask an admin."))
        return None
    st.session_state[ACTOR_KEY] = user.actor  # role read from the database on every run
    i18n.use(user.language or settings().language)  # their stored choice, read on every run too
    return user.actor


def use_stored_language() -> None:
    """The logged-in user's stored language (or the LANGUAGE setting) for this run."""
    user = read_fresh(accounts.get_user, username=st.session_state.get("username") or "")
    if user is not None:
        i18n.use(user.language or settings().language)


def signup_form() -> None:
    """Self-registration (ALLOW_SIGNUP=true only): creates a viewer."""
    cfg = settings()
    with st.expander(_("No account yet? Register as a viewer")):
        with st.form("signup", clear_on_submit=False):
            username = st.text_input(_("New username"))
            name = st.text_input(_("Your name"))
            email = st.text_input(_("Email (optional)"))
            password = st.text_input(_("New password"), type="password",
                                     help=_("At least {n} characters.").format(n=accounts.MIN_PASSWORD_LENGTH))
            repeat = st.text_input(_("Repeat the password"), type="password")
            if st.form_submit_button(_("Register")):
                if password != repeat:
                    st.error(_("The two passwords differ."))
                    return
                try:
                    write(accounts.create_user, actor=None, username=username, password=password,
                          role="viewer", name=name, email=email, rounds=cfg.password_hash_rounds)
                except accounts.AccountError as exc:
                    st.error(error_text(exc))
                else:
                    st.success(_("Account created. Log in above."))


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def require_role(role: str) -> Actor:
    """First line of every page: stop with a clear message unless the user's role is enough."""
    actor = current_actor()
    if not accounts.can(actor, role):
        st.error(_("Not allowed: this page needs the **{role}** role and you are **{actual}**.").format(
            role=role, actual=actor.role) if actor else
            _("Not allowed: this page needs the **{role}** role; log in first.").format(role=role))
        st.stop()
    return actor
