"""Audit log (admin): who created, corrected, deleted or loaded what, with the values before and after."""

import pandas as pd
import streamlit as st

from core import audit
from dashboard import records_ui as ui
from dashboard.auth import require_role
from dashboard.common import read
from dashboard.i18n import _, date_input_format, day, moment, ngettext
from dashboard.ui import md, table, word

require_role("admin")
KEY = "audit"

st.title(_("Audit log"))
st.caption(_("Every change to customers, services and users, every load, written in the same transaction "
             "as the change: if the change did not happen, neither did its line here. Newest first."))

choices = read(audit.audit_choices)
any_label = _("(any)")  # options are labelled in this run's language
with st.container(border=True):
    cols = st.columns([1.5, 1.5, 1.2, 1.2, 1.3, 1.3])
    username = cols[0].selectbox(_("User"), ["", *choices["usernames"]], format_func=lambda v: v or any_label,
                                 key="audit_user")
    entity = cols[1].selectbox(_("Entity"), ["", *choices["entities"]], key="audit_entity",
                               format_func=lambda v, words=word(audit.ENTITY_LABELS): words(v) or any_label)
    action = cols[2].selectbox(_("Action"), ["", *audit.ACTIONS], key="audit_action",
                               format_func=lambda v, words=word(audit.ACTION_LABELS): words(v) or any_label)
    entity_id = cols[3].text_input(_("Record id"), key="audit_entity_id")
    since = cols[4].date_input(_("From"), value=None, format=date_input_format(), key="audit_since")
    until = cols[5].date_input(_("To"), value=None, format=date_input_format(), key="audit_until")

if since and until and since > until:
    st.error(_("The period starts ({start}) after it ends ({end}).").format(start=day(since), end=day(until)))
    st.stop()
filters = audit.AuditFilter(username=username or None, entity=entity or None, action=action or None,
                            entity_id=entity_id.strip() or None, since=since, until=until)
total = read(audit.count_audit, filters=filters)
request = ui.page_request(KEY, signature=filters, total=total)
entries = read(audit.list_audit, filters=filters, **request.kwargs()) if total else []

listed = pd.DataFrame([{
    "at": e.at, "user": e.username, "action": e.action, "entity": e.entity, "id": e.entity_id,
    "changes": ", ".join(e.changes()) if e.action == "update" else "",
} for e in entries], columns=["at", "user", "action", "entity", "id", "changes"])
event = table(listed, seconds=("at",), words={"action": audit.ACTION_LABELS, "entity": audit.ENTITY_LABELS},
              on_select="rerun", selection_mode="single-row", key=f"{KEY}_table")
ui.pager_controls(KEY, request, total, [e.id for e in entries], ngettext("**{n}** entry", "**{n}** entries", total))

rows = event.selection.rows if event else []
if rows and rows[0] < len(entries):
    entry = entries[rows[0]]
    st.subheader(_("{action} {entity} {id} by {username}").format(
        action=word(audit.ACTION_LABELS)(entry.action), entity=word(audit.ENTITY_LABELS)(entry.entity),
        id=md(entry.entity_id or ""), username=md(entry.username)))
    st.caption(_("At {moment} {zone}").format(moment=moment(entry.at, seconds=True), zone=entry.at.strftime("%Z")))
    fields = list(dict.fromkeys([*(entry.before or {}), *(entry.after or {})]))
    changed = entry.changes()
    table(pd.DataFrame([{
        "field": f, "before": "" if entry.before is None else str((entry.before or {}).get(f, "")),
        "after": "" if entry.after is None else str((entry.after or {}).get(f, "")),
        "changed": f in changed} for f in fields], columns=["field", "before", "after", "changed"]))
elif entries:
    st.caption(_("Select a line to see the values before and after."))
else:
    st.info(_("No audit entry matches these filters."))
