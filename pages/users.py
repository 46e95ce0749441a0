"""Users (admin): create accounts, change roles, reset passwords, deactivate."""
import pandas as pd
import streamlit as st

from core import accounts
from dashboard.auth import require_role
from dashboard.common import read_fresh, settings, write

actor = require_role("admin")
rounds = settings().password_hash_rounds

st.title("Users")
st.caption("Roles: " + "; ".join(f"**{r}** {accounts.ROLE_HELP[r]}" for r in accounts.ROLES) + ".")

for message in st.session_state.pop("users_flash", []):
    st.success(message)


def done(message: str) -> None:
    st.session_state.setdefault("users_flash", []).append(message)
    st.rerun()


users = read_fresh(accounts.list_users)
table = pd.DataFrame([{
    "username": u.username, "name": u.name, "email": u.email or "", "role": u.role,
    "active": u.active,
    "locked until": u.locked_until.strftime("%Y-%m-%d %H:%M") if u.locked_until else "",
    "failed logins": u.failed_logins,
    "last login": u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "",
} for u in users])
st.dataframe(table, hide_index=True, width="stretch")

create_tab, role_tab, password_tab, active_tab = st.tabs(
    ["Create user", "Change role", "Reset password", "Activate / deactivate"])

with create_tab, st.form("create_user", clear_on_submit=True):
    c1, c2 = st.columns(2)
    username = c1.text_input("Username", help="One word; stored lower-case.")
    name = c2.text_input("Name")
    email = c1.text_input("Email (optional)")
    role = c2.selectbox("Role", accounts.ROLES, format_func=lambda r: f"{r}: {accounts.ROLE_HELP[r]}")
    password = st.text_input("Initial password", type="password",
                             help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters; give it to the user "
                                  "by a safe channel.")
    if st.form_submit_button("Create user", type="primary"):
        try:
            write(accounts.create_user, actor=actor, username=username, password=password, role=role,
                  name=name, email=email, rounds=rounds)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            done(f"Created {username.strip().lower()} ({role}).")

names = [u.username for u in users]

with role_tab, st.form("change_role"):
    who = st.selectbox("User", names, key="role_user")
    new_role = st.selectbox("New role", accounts.ROLES, key="role_new")
    if st.form_submit_button("Change role"):
        try:
            write(accounts.set_role, actor=actor, username=who, role=new_role)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            done(f"{who} is now {new_role}.")

with password_tab, st.form("reset_password", clear_on_submit=True):
    who = st.selectbox("User", names, key="pw_user")
    new_password = st.text_input("New password", type="password")
    if st.form_submit_button("Reset password", help="Also unlocks a locked account."):
        try:
            write(accounts.reset_password, actor=actor, username=who, password=new_password, rounds=rounds)
        except (accounts.AccountError, accounts.PermissionDenied) as exc:
            st.error(str(exc))
        else:
            done(f"Password of {who} changed; the account is unlocked.")

with active_tab:
    who = st.selectbox("User", names, key="active_user")
    target = next((u for u in users if u.username == who), None)
    if target is not None:
        verb = "Deactivate" if target.active else "Activate"
        st.write(f"**{who}** is {'active' if target.active else 'deactivated'}. "
                 "A deactivated user cannot log in; their history stays.")
        confirm = st.checkbox(f"Yes, {verb.lower()} {who}", key="active_confirm")
        if st.button(verb, disabled=not confirm, key="active_button"):
            try:
                write(accounts.set_active, actor=actor, username=who, active=not target.active)
            except (accounts.AccountError, accounts.PermissionDenied) as exc:
                st.error(str(exc))
            else:
                done(f"{who} is now {'deactivated' if target.active else 'active'}.")
