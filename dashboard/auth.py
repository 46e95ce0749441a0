"""Login glue: streamlit-authenticator for the form and the signed cookie, core.accounts for the rest.

The library keeps users in a dict; ours live in PostgreSQL. We give it the active users (no hashes)
and replace its credential check with core.accounts.log_in, the one login of every front end (the
throttle, the password check, lockout, the session).

Every login is a row of `sessions` (core.accounts.start_session). The library's cookie (a JWT
signed with AUTH_COOKIE_KEY, Secure when AUTH_COOKIE_SECURE=true) carries that row's id, `sid`,
beside the library's own username and expiry; a cookie is accepted only while its row is live, and
the row is checked again on every run. So a logout, a password, role or active change, a lock, "log
out everywhere" or AUTH_IDLE_MINUTES without a page run ends the session in this tab, in the user's
other tabs and in any copy of the cookie, at once.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from core import accounts, throttle
from core.accounts import Actor
from core.messages import TextError
from dashboard import i18n
from dashboard.common import engine, read_fresh, settings, write
from dashboard.ui import md, refusals_shown
from dashboard.i18n import N_, _, error_text

ACTOR_KEY = "auth_actor"
SID_KEY = "auth_sid"  # the dashboard_sessions row of this browser session
NOTICE_KEY = "auth_notice"  # why the last session ended, shown once
LOGIN_ERROR_KEY = "auth_login_error"  # why the last login attempt failed, shown once
SESSION_ENDED = N_("Your session has ended (it was idle for a while, your password or role changed, or you "
                   "logged out everywhere). Log in again.")
LOGGED_OUT_EVERYWHERE = N_("You were logged out everywhere: every session and API token of your account has "
                           "ended.")
# Our own forms' fields, as long as core accepts (the library's login form takes no limit: core
# answers a longer username or password with a plain message).
_PASSWORD_CHARS = accounts.MAX_PASSWORD_BYTES


def client_address() -> str:
    """This browser's address as the throttle counts it (X-Forwarded-For only from a trusted proxy)."""
    peer, forwarded = st.context.ip_address, (st.context.headers or {}).get("X-Forwarded-For")
    return throttle.client_address(peer if isinstance(peer, str) else None,  # None: localhost (or a test)
                                   forwarded if isinstance(forwarded, str) else None,
                                   trusted_proxies=settings().trusted_proxies)


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
        try:
            session = accounts.log_in(engine(), username=username, password=password, address=client_address(),
                                      settings=cfg)
        except TextError as exc:  # LoginFailed, Throttled...: said under the library's form, drawn after this
            st.session_state[LOGIN_ERROR_KEY] = error_text(exc)
            return False
        st.session_state[SID_KEY] = session.sid
        return True

    model = authenticator.cookie_controller.cookie_model

    def token_encode() -> str:
        # The library's claims plus the session row; set_cookie runs right after a form login.
        return jwt.encode({"username": st.session_state["username"], "exp_date": model.exp_date,
                           "sid": st.session_state.get(SID_KEY)}, model.cookie_key, algorithm="HS256")

    def set_cookie() -> None:
        # The library's set_cookie, with the Secure flag its cookie component can set (HttpOnly it cannot:
        # the cookie is written by JavaScript in the page).
        if model.cookie_expiry_days != 0:
            model.exp_date = model._set_exp_date()
            model.cookie_manager.set(model.cookie_name, token_encode(), secure=cfg.auth_cookie_secure,
                                     expires_at=datetime.now(timezone.utc) + timedelta(days=model.cookie_expiry_days))

    def get_cookie():
        """The cookie's claims when it names a live session of its user; None otherwise."""
        if st.session_state.get("logout"):
            return None
        token = st.context.cookies.get(model.cookie_name)
        if not token:
            return None
        try:
            claims = jwt.decode(token, model.cookie_key, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return None
        if (not isinstance(claims.get("username"), str) or not isinstance(claims.get("sid"), str)
                or not isinstance(claims.get("exp_date"), (int, float))
                or claims["exp_date"] <= time.time()):
            return None
        if read_fresh(accounts.session_user, sid=claims["sid"], username=claims["username"],
                      idle_minutes=cfg.auth_idle_minutes) is None:
            return None
        st.session_state[SID_KEY] = claims["sid"]
        return claims

    authenticator.authentication_controller.authentication_model.check_credentials = check_credentials
    model._token_encode = token_encode
    model.set_cookie = set_cookie
    model.get_cookie = get_cookie
    return authenticator


def _end_here(authenticator: stauth.Authenticate, notice: str | None) -> None:
    """Forget this browser's login (session state and cookie) without touching the database."""
    st.session_state.pop(SID_KEY, None)
    st.session_state.pop(ACTOR_KEY, None)
    if st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")  # clears the state, deletes the cookie
    st.session_state["authentication_status"] = None
    if notice:
        st.session_state[NOTICE_KEY] = notice


def logout(authenticator: stauth.Authenticate) -> None:
    """Log out: this session's row ends, so its cookie (and any copy of it) stops working."""
    sid = st.session_state.get(SID_KEY)
    if sid:
        write(accounts.end_session, sid=sid)
    _end_here(authenticator, None)


def logout_everywhere(authenticator: stauth.Authenticate, actor: Actor) -> None:
    """End every session and API token of this user, this one included."""
    write(accounts.end_sessions, actor=actor, username=actor.username)
    _end_here(authenticator, _(LOGGED_OUT_EVERYWHERE))


def login(authenticator: stauth.Authenticate) -> Actor | None:
    """Show the login form (or restore the login from the cookie); return the actor if logged in.

    On every run the session's row is checked: an ended session logs this tab out."""
    try:
        authenticator.login(location="main", fields={
            "Form name": _("Log in"), "Username": _("Username"), "Password": _("Password"),
            "Login": _("Log in")})
    except LoginError:
        st.session_state["authentication_status"] = False
    status = st.session_state.get("authentication_status")
    notice = st.session_state.pop(NOTICE_KEY, None)
    failed = st.session_state.pop(LOGIN_ERROR_KEY, None)
    if notice:
        st.warning(notice)
    elif status is False:
        st.error(md(failed or _(accounts.LOGIN_FAILED)))
    if not status:
        st.session_state.pop(ACTOR_KEY, None)
        return None
    username = st.session_state.get("username") or ""
    # Checked, and noted as a page run (the idle timeout), on every run.
    user = write(accounts.session_user, sid=st.session_state.get(SID_KEY) or "", username=username,
                 idle_minutes=settings().auth_idle_minutes, touch=True)
    if user is None:
        row = read_fresh(accounts.get_user, username=username)
        _end_here(authenticator, None)
        st.error(_("This account is no longer active. Ask an admin.") if row is None or not row.active
                 else _(SESSION_ENDED))
        return None
    st.session_state[ACTOR_KEY] = user.actor  # role read from the database on every run
    i18n.use(user.language or settings().language)  # their stored choice, read on every run too
    if user.must_change_password:
        st.session_state[ACTOR_KEY] = None  # no page until the password is the user's own
        first_password_form(authenticator, user)
        return None
    return user.actor


def _change_password(authenticator: stauth.Authenticate, actor: Actor, current: str, new: str,
                     repeat: str) -> bool:
    """Change the user's own password (core.accounts.change_own_password: the current one is checked
    as a login's is); this browser stays logged in with a new session."""
    if new != repeat:
        st.error(_("The two new passwords differ."))
        return False
    with refusals_shown():
        session = accounts.change_own_password(engine(), username=actor.username, current=current, new=new,
                                               address=client_address(), settings=settings())
        # Every session ended with the old password; this browser gets the new one (and a new cookie).
        st.session_state[SID_KEY] = session.sid
        authenticator.cookie_controller.set_cookie()
        return True
    return False


def first_password_form(authenticator: stauth.Authenticate, user: accounts.User) -> None:
    """Before anything else: the generated first password must be replaced by the user's own."""
    st.title(_("Choose your password"))
    st.info(_("You logged in as {username} with the password generated on the first start. Choose your own "
              "before going on; the generated one stops working.").format(username=md(user.username)))
    with st.form("first_password"):
        current = st.text_input(_("Generated password"), type="password", max_chars=_PASSWORD_CHARS)
        new = st.text_input(_("New password"), type="password", max_chars=_PASSWORD_CHARS,
                            help=_("At least {n} characters; not a common password.").format(
                                n=accounts.MIN_PASSWORD_LENGTH))
        repeat = st.text_input(_("Repeat the new password"), type="password", max_chars=_PASSWORD_CHARS)
        changed = st.form_submit_button(_("Set my password"), type="primary") and _change_password(
            authenticator, user.actor, current, new, repeat)
    if changed:  # no st.rerun here: the new cookie is set by a component that must reach the browser
        st.success(_("Your password is set."))
        st.button(_("Continue to the dashboard"), type="primary")


def account_box(authenticator: stauth.Authenticate) -> None:
    """Who is signed in, and their own controls: change password, log out, log out everywhere.

    Drawn before the login check of the run, so a click takes effect in that same run."""
    username = st.session_state.get("username") or ""
    actor = Actor(username, (current_actor() or Actor(username, "viewer")).role)
    st.caption(_("Signed in as **{username}**").format(username=md(actor.username)))
    with st.popover(_("Account"), icon=":material/manage_accounts:"):
        with st.form("own_password", clear_on_submit=True):
            st.caption(_("Change my password (every other session of mine ends)"))
            current = st.text_input(_("Current password"), type="password", max_chars=_PASSWORD_CHARS)
            new = st.text_input(_("New password"), type="password", max_chars=_PASSWORD_CHARS)
            repeat = st.text_input(_("Repeat the new password"), type="password", max_chars=_PASSWORD_CHARS)
            if st.form_submit_button(_("Change password")) and _change_password(
                    authenticator, actor, current, new, repeat):
                st.success(_("Password changed; your other sessions and API tokens have ended."))
        if st.button(_("Log out everywhere"), key="logout_everywhere_button",
                     help=_("Ends every session and API token of your account, on every device, this one included.")):
            logout_everywhere(authenticator, actor)
    # Our own button inside the box; the library's "sidebar" location would append it below.
    if st.button(_("Log out"), key="app_logout_button"):
        logout(authenticator)
        i18n.forget()


def use_stored_language() -> None:
    """The logged-in user's stored language (or the LANGUAGE setting) for this run."""
    user = read_fresh(accounts.get_user, username=st.session_state.get("username") or "")
    if user is not None:
        i18n.use(user.language or settings().language)


def signup_form() -> None:
    """Self-registration (ALLOW_SIGNUP=true only): creates a viewer. Throttled per client address."""
    with st.expander(_("No account yet? Register as a viewer")):
        with st.form("signup", clear_on_submit=False):
            username = st.text_input(_("New username"), help=_(accounts.USERNAME_HELP) + ".",
                                     max_chars=accounts.MAX_USERNAME_LENGTH)
            name = st.text_input(_("Your name"), max_chars=accounts.MAX_NAME_LENGTH)
            email = st.text_input(_("Email (optional)"), max_chars=accounts.MAX_EMAIL_LENGTH)
            password = st.text_input(_("New password"), type="password", max_chars=_PASSWORD_CHARS,
                                     help=_("At least {n} characters.").format(n=accounts.MIN_PASSWORD_LENGTH))
            repeat = st.text_input(_("Repeat the password"), type="password", max_chars=_PASSWORD_CHARS)
            if st.form_submit_button(_("Register")):
                if password != repeat:
                    st.error(_("The two passwords differ."))
                    return
                with refusals_shown():
                    accounts.register(engine(), username=username, password=password, name=name, email=email,
                                      address=client_address(), settings=settings())
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


def recheck_role(role: str) -> Actor:
    """For a fragment that reruns on its own (st.fragment(run_every=...)): the entrypoint's checks do
    not run then, so read the session and the user's role again and stop the panel if either ended."""
    sid = st.session_state.get(SID_KEY) or ""
    user = read_fresh(accounts.session_user, sid=sid, username=st.session_state.get("username") or "",
                      idle_minutes=settings().auth_idle_minutes)
    actor = user.actor if user is not None and not user.must_change_password else None
    if not accounts.can(actor, role):
        st.session_state.pop(ACTOR_KEY, None)
        st.error(_("Not allowed any more: your session ended or your role changed. Reload the page."))
        st.stop()
    return actor
