"""Users (admin): create accounts, change roles, reset passwords, deactivate; API keys."""
import pandas as pd
import streamlit as st

from core import accounts
from dashboard.auth import require_role
from dashboard.common import read_fresh, settings, write
from dashboard.ui import done, flash, md

actor = require_role("admin")
rounds = settings().password_hash_rounds

st.title("Users")
st.caption("Roles: " + "; ".join(f"**{r}** {accounts.ROLE_HELP[r]}" for r in accounts.ROLES) + ".")

flash("users")
new_key = st.session_state.pop("users_new_key", None)  # (name, key): shown on this run only
if new_key:
    st.warning(f"Copy the key **{md(new_key[0])}** now: it will not be shown again (only its hash is stored).",
               icon=":material/key:")
    st.code(new_key[1], language=None)


users = read_fresh(accounts.list_users)
table = pd.DataFrame([{
    "username": u.username, "name": u.name, "email": u.email or "", "role": u.role,
    "active": u.active,
    "locked until": u.locked_until.strftime("%Y-%m-%d %H:%M") if u.locked_until else "",
    "failed logins": u.failed_logins,
    "last login": u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
} for u in users])
st.dataframe(table, hide_index=True, width="stretch")

create_tab, role_tab, password_tab, active_tab, sessions_tab = st.tabs(
    ["Create user", "Change role", "Reset password", "Activate / deactivate", "Log out everywhere"])

with create_tab, st.form("create_user", clear_on_submit=True):
    c1, c2 = st.columns(2)
    username = c1.text_input("Username", help=f"{accounts.USERNAME_HELP}; stored lower-case.")
    name = c2.text_input("Name")
    email = c1.text_input("Email (optional)")
    role = c2.selectbox("Role", accounts.ROLES, format_func=lambda r: f"{r}: {accounts.ROLE_HELP[r]}")
    password = st.text_input("Initial password", type="password",
                             help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters, not a common password; "
                                  "give it to the user by a safe channel.")
    if st.form_submit_button("Create user", type="primary"):
        try:
            write(accounts.create_user, actor=actor, username=username, password=password, role=role,
                  name=name, email=email, rounds=rounds)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            done("users", f"Created {md(username.strip().lower())} ({role}).")

names = [u.username for u in users]

with role_tab, st.form("change_role"):
    who = st.selectbox("User", names, key="users_role_user")
    new_role = st.selectbox("New role", accounts.ROLES, key="users_role_new")
    if st.form_submit_button("Change role"):
        try:
            write(accounts.set_role, actor=actor, username=who, role=new_role)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            done("users", f"{md(who)} is now {new_role}; their sessions have ended.")

with password_tab, st.form("reset_password", clear_on_submit=True):
    who = st.selectbox("User", names, key="users_password_user")
    new_password = st.text_input("New password", type="password")
    if st.form_submit_button("Reset password", help="Also unlocks a locked account."):
        try:
            write(accounts.reset_password, actor=actor, username=who, password=new_password, rounds=rounds)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            done("users", f"Password of {md(who)} changed; the account is unlocked and its sessions have ended.")

with active_tab:
    who = st.selectbox("User", names, key="users_active_user")
    target = next((u for u in users if u.username == who), None)
    if target is not None:
        verb = "Deactivate" if target.active else "Activate"
        st.write(f"**{md(who)}** is {'active' if target.active else 'deactivated'}. "
                 "A deactivated user cannot log in; their history stays.")
        confirm = st.checkbox(f"Yes, {verb.lower()} {md(who)}", key="users_active_confirm")
        if st.button(verb, disabled=not confirm, key="users_active_button"):
            try:
                write(accounts.set_active, actor=actor, username=who, active=not target.active)
            except (accounts.AccountError, accounts.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                done("users", f"{md(who)} is now {'deactivated' if target.active else 'active'}.")

with sessions_tab:
    who = st.selectbox("User", names, key="users_sessions_user")
    st.caption("Ends every dashboard session and API token of the user at once, on every device (e.g. a "
               "lost laptop or a cookie that may have been copied). Their password stays; API keys are "
               "not users' and are revoked below.")
    if st.button("Log out everywhere", key="users_sessions_button"):
        try:
            write(accounts.end_sessions, actor=actor, username=who)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            done("users", f"{md(who)} is logged out everywhere.")

st.subheader("API keys")
st.caption("A key lets a script or an integration use the HTTP API with a role, without a user's "
           "password. Only a hash of each key is kept; a revoked key stops working at once.")
keys = read_fresh(accounts.list_api_keys)
if keys:
    st.dataframe(pd.DataFrame([{
        "id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix, "created by": k.created_by,
        "created": k.created_at.strftime("%Y-%m-%d %H:%M"),
        "last used": k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "",
        "revoked": k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
    } for k in keys]), hide_index=True, width="stretch")
else:
    st.caption("No API keys yet.")

create_key_tab, revoke_key_tab = st.tabs(["Create key", "Revoke key"])

with create_key_tab, st.form("create_api_key", clear_on_submit=True):
    c1, c2 = st.columns(2)
    key_name = c1.text_input("Key name", max_chars=accounts.API_KEY_MAX_NAME,
                             help="What or who uses it, e.g. nightly export; shown in the audit log as key:<name>.")
    key_role = c2.selectbox("Key role", accounts.ROLES, format_func=lambda r: f"{r}: {accounts.ROLE_HELP[r]}")
    if st.form_submit_button("Create key", type="primary"):
        try:
            key, plain = write(accounts.create_api_key, actor=actor, name=key_name, role=key_role)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            st.session_state["users_new_key"] = (key.name, plain)
            done("users", f"Created API key {md(key.name)} ({key.role}).")

with revoke_key_tab:
    live = {k.id: k for k in keys if k.active}
    if not live:
        st.caption("No active key to revoke.")
    else:
        chosen = live[st.selectbox("Key to revoke", list(live), key="users_revoke_key",
                                   format_func=lambda i: f"{live[i].name} ({live[i].role}, {live[i].prefix}...)")]
        confirm = st.checkbox(f"Yes, revoke {md(chosen.name)}: whatever uses it stops working", key="users_revoke_key_confirm")
        if st.button("Revoke key", disabled=not confirm, key="users_revoke_key_button"):
            try:
                write(accounts.revoke_api_key, actor=actor, id=chosen.id)
            except (accounts.AccountError, accounts.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                done("users", f"Revoked API key {md(chosen.name)}; it stops working at once.")
