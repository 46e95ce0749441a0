"""Audit log (admin): who created, corrected, deleted or loaded what, with the values before and after."""

import pandas as pd
import streamlit as st

from core import audit
from dashboard import records_ui as ui
from dashboard.auth import require_role
from dashboard.common import read
from dashboard.ui import md

require_role("admin")
KEY = "audit"

st.title("Audit log")
st.caption("Every change to customers, services and users, every load, written in the same transaction "
           "as the change: if the change did not happen, neither did its line here. Newest first.")

choices = read(audit.audit_choices)
with st.container(border=True):
    cols = st.columns([1.5, 1.5, 1.2, 1.2, 1.3, 1.3])
    username = cols[0].selectbox("User", ["", *choices["usernames"]], format_func=lambda v: v or "(any)",
                                 key="audit_user")
    entity = cols[1].selectbox("Entity", ["", *choices["entities"]], format_func=lambda v: v or "(any)",
                               key="audit_entity")
    action = cols[2].selectbox("Action", ["", *audit.ACTIONS], format_func=lambda v: v or "(any)",
                               key="audit_action")
    entity_id = cols[3].text_input("Record id", key="audit_entity_id")
    since = cols[4].date_input("From", value=None, format="DD/MM/YYYY", key="audit_since")
    until = cols[5].date_input("To", value=None, format="DD/MM/YYYY", key="audit_until")

if since and until and since > until:
    st.error(f"The period starts ({since:%d/%m/%Y}) after it ends ({until:%d/%m/%Y}).")
    st.stop()
filters = audit.AuditFilter(username=username or None, entity=entity or None, action=action or None,
                            entity_id=entity_id.strip() or None, since=since, until=until)
total = read(audit.count_audit, filters=filters)
request = ui.page_request(KEY, signature=filters, total=total)
entries = read(audit.list_audit, filters=filters, **request.kwargs()) if total else []

table = pd.DataFrame([{
    "at": e.at, "user": e.username, "action": e.action, "entity": e.entity, "id": e.entity_id,
    "changes": ", ".join(e.changes()) if e.action == "update" else "",
} for e in entries], columns=["at", "user", "action", "entity", "id", "changes"])
event = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                     key=f"{KEY}_table",
                     column_config={"at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss")})
ui.pager_controls(KEY, request, total, [e.id for e in entries], "entries", singular="entry")

rows = event.selection.rows if event else []
if rows and rows[0] < len(entries):
    entry = entries[rows[0]]
    st.subheader(f"{entry.action} {entry.entity} {md(entry.entity_id or '')} by {md(entry.username)}")
    st.caption(f"{entry.at:%Y-%m-%d %H:%M:%S %Z}")
    fields = list(dict.fromkeys([*(entry.before or {}), *(entry.after or {})]))
    changed = entry.changes()
    st.dataframe(pd.DataFrame([{
        "field": f, "before": "" if entry.before is None else str((entry.before or {}).get(f, "")),
        "after": "" if entry.after is None else str((entry.after or {}).get(f, "")),
        "changed": f in changed} for f in fields], columns=["field", "before", "after", "changed"]),
        hide_index=True, width="stretch")
elif entries:
    st.caption("Select a line to see the values before and after.")
else:
    st.info("No audit entry matches these filters.")
