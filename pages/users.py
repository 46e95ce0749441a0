"""Users (admin): create accounts, change roles, reset passwords, deactivate; API keys."""
import pandas as pd
import streamlit as st

from core import accounts
from dashboard.auth import require_role
from dashboard.common import read_fresh, settings, write
from dashboard.i18n import _
from dashboard.ui import done, flash, heading, md, refusals_shown, table

actor = require_role("admin")
rounds = settings().password_hash_rounds

st.title(_("Users"))
st.caption(_("Roles:") + " " + "; ".join(f"**{r}** {_(accounts.ROLE_HELP[r])}" for r in accounts.ROLES) + ".")

flash("users")
role_labels = {r: f"{r}: {_(accounts.ROLE_HELP[r])}" for r in accounts.ROLES}
new_key = st.session_state.pop("users_new_key", None)  # (name, key): shown on this run only
if new_key:
    st.warning(_("Copy the key **{name}** now: it will not be shown again (only its hash is stored).").format(
        name=md(new_key[0])),
               icon=":material/key:")
    st.code(new_key[1], language=None)


users = read_fresh(accounts.list_users)
table(pd.DataFrame([{
    "username": u.username, "name": u.name, "email": u.email or "", "role": u.role,
    "active": u.active, "locked until": u.locked_until, "failed logins": u.failed_logins,
    "last login": u.last_login_at,
} for u in users]))

create_tab, role_tab, password_tab, active_tab, sessions_tab = st.tabs(
    [_("Create user"), _("Change role"), _("Reset password"), _("Activate / deactivate"), _("Log out everywhere")])

with create_tab, st.form("create_user", clear_on_submit=True):
    c1, c2 = st.columns(2)
    username = c1.text_input(_("Username"), help=_("One word; stored lower-case."),
                             max_chars=accounts.MAX_USERNAME_LENGTH)
    name = c2.text_input(_("Name"), max_chars=accounts.MAX_NAME_LENGTH)
    email = c1.text_input(_("Email (optional)"), max_chars=accounts.MAX_EMAIL_LENGTH)
    role = c2.selectbox(_("Role"), accounts.ROLES, format_func=role_labels.get)
    password = st.text_input(_("Initial password"), type="password", max_chars=accounts.MAX_PASSWORD_BYTES,
                             help=_("At least {n} characters; give it to the user by a safe channel.").format(
                                 n=accounts.MIN_PASSWORD_LENGTH))
    if st.form_submit_button(_("Create user"), type="primary"):
        with refusals_shown():
            write(accounts.create_user, actor=actor, username=username, password=password, role=role,
                  name=name, email=email, rounds=rounds)
            done("users", _("Created {username} ({role}).").format(username=md(username.strip().lower()), role=role))

names = [u.username for u in users]

with role_tab, st.form("change_role"):
    who = st.selectbox(_("User"), names, key="users_role_user")
    new_role = st.selectbox(_("New role"), accounts.ROLES, key="users_role_new")
    if st.form_submit_button(_("Change role")):
        with refusals_shown():
            write(accounts.set_role, actor=actor, username=who, role=new_role)
            done("users", _("{username} is now {role}.").format(username=md(who), role=new_role))

with password_tab, st.form("reset_password", clear_on_submit=True):
    who = st.selectbox(_("User"), names, key="users_password_user")
    new_password = st.text_input(_("New password"), type="password", max_chars=accounts.MAX_PASSWORD_BYTES)
    if st.form_submit_button(_("Reset password"), help=_("Also unlocks a locked account.")):
        with refusals_shown():
            write(accounts.reset_password, actor=actor, username=who, password=new_password, rounds=rounds)
            done("users", _("Password of {username} changed; the account is unlocked.").format(username=md(who)))

with active_tab:
    who = st.selectbox(_("User"), names, key="users_active_user")
    target = next((u for u in users if u.username == who), None)
    if target is not None:
        verb = _("Deactivate") if target.active else _("Activate")
        st.write((_("**{username}** is active.") if target.active else _("**{username}** is deactivated.")).format(
            username=md(who)) + " " + _("A deactivated user cannot log in; their history stays."))
        confirm = st.checkbox((_("Yes, deactivate {username}") if target.active else _("Yes, activate {username}"))
                              .format(username=md(who)), key="users_active_confirm")
        if st.button(verb, disabled=not confirm, key="users_active_button"):
            with refusals_shown():
                write(accounts.set_active, actor=actor, username=who, active=not target.active)
                done("users", (_("{username} is now deactivated.") if target.active
                               else _("{username} is now active.")).format(username=md(who)))

with sessions_tab:
    who = st.selectbox(_("User"), names, key="users_sessions_user")
    st.caption(_("Ends every dashboard session and API token of the user at once, on every device (e.g. a "
                 "lost laptop or a cookie that may have been copied). Their password stays; API keys are "
                 "not users' and are revoked below."))
    if st.button(_("Log out everywhere"), key="users_sessions_button"):
        with refusals_shown():
            write(accounts.end_sessions, actor=actor, username=who)
            done("users", _("{username} is logged out everywhere.").format(username=md(who)))

st.subheader(_("API keys"))
st.caption(_("A key lets a script or an integration use the HTTP API with a role, without a user's "
             "password. Only a hash of each key is kept; a revoked or expired key stops working at once, and "
             "so do the keys an admin made when that admin is demoted or deactivated."))
keys = read_fresh(accounts.list_api_keys)
if keys:
    table(pd.DataFrame([{
        "id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix, "created by": k.created_by,
        "created": k.created_at, "last used": k.last_used_at, "revoked": k.revoked_at, "expires": k.expires_at,
    } for k in keys]), column_config={"id": st.column_config.NumberColumn(heading("id"), format="%d")})
else:
    st.caption(_("No API keys yet."))

create_key_tab, revoke_key_tab = st.tabs([_("Create key"), _("Revoke key")])

with create_key_tab, st.form("create_api_key", clear_on_submit=True):
    c1, c2 = st.columns(2)
    key_name = c1.text_input(_("Key name"), max_chars=accounts.API_KEY_MAX_NAME,
                             help=_("What or who uses it, e.g. nightly export; shown in the audit log as key:<name>."))
    key_role = c2.selectbox(_("Key role"), accounts.ROLES, format_func=role_labels.get)
    key_days = c1.number_input(_("Expires after (days)"), min_value=0, max_value=accounts.API_KEY_MAX_DAYS, value=0,
                               step=1, help=_("0: never (until revoked)."))
    if st.form_submit_button(_("Create key"), type="primary"):
        with refusals_shown():
            key, plain = write(accounts.create_api_key, actor=actor, name=key_name, role=key_role,
                               expires_days=int(key_days) or None)
            st.session_state["users_new_key"] = (key.name, plain)
            done("users", _("Created API key {name} ({role}).").format(name=md(key.name), role=key.role))

with revoke_key_tab:
    # an expired key still holds its name until revoked (accounts.revoke_api_key's own test)
    live = {k.id: k for k in keys if k.revoked_at is None}
    if not live:
        st.caption(_("No active key to revoke."))
    else:
        chosen = live[st.selectbox(_("Key to revoke"), list(live), key="users_revoke_key",
                                   format_func=lambda i: f"{live[i].name} ({live[i].role}, {live[i].prefix}...)")]
        confirm = st.checkbox(_("Yes, revoke {name}: whatever uses it stops working").format(name=md(chosen.name)),
                              key="users_revoke_key_confirm")
        if st.button(_("Revoke key"), disabled=not confirm, key="users_revoke_key_button"):
            with refusals_shown():
                write(accounts.revoke_api_key, actor=actor, id=chosen.id)
                done("users", _("Revoked API key {name}; it stops working at once.").format(name=md(chosen.name)))
