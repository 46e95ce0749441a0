"""Customers: find, register, correct, delete (admin). A customer shows their services."""
from datetime import date

import pandas as pd
import streamlit as st

from core import records
from core.accounts import PermissionDenied, can
from dashboard import records_ui as ui
from dashboard.auth import require_role
from dashboard.common import read, read_fresh, write
from dashboard.filters import UrlFilters, UrlParam
from dashboard.ui import done, flash, md

actor = require_role("viewer")
KEY = "customers"
ERRORS = (records.RecordError, PermissionDenied)
KINDS = {"all": "all", "real": "real customers", "stubs": "stubs"}


def known_kind(text: str) -> str:
    if text not in KINDS:
        raise ValueError("not a kind (" + ", ".join(KINDS) + ")")
    return text


# The filter bar starts from a followed link (?id=N: the Services page links to a customer) and
# writes itself back to the URL.
URL = UrlFilters("customers_f", (UrlParam("id"), UrlParam("nome"), UrlParam("email"), UrlParam("telefone"),
                                 UrlParam("kind", known_kind, "all")))

st.title("Customers")
st.caption("Text filters match anywhere, ignoring case and accents. A **stub** is a customer a service "
           "load created for an id not yet in the customers file: give it a name to complete it.")
flash(KEY)

URL.follow_link()
with st.container(border=True):
    cols = st.columns([1.2, 2, 2, 1.5, 1.3])
    f_id = ui.id_input("Customer id", "customers_f_id", container=cols[0])
    nome = cols[1].text_input("Name contains", key="customers_f_nome")
    email = cols[2].text_input("Email contains", key="customers_f_email")
    telefone = cols[3].text_input("Phone contains", key="customers_f_telefone", help="Digits only are compared.")
    kind = cols[4].selectbox("Kind", list(KINDS), format_func=KINDS.get, key="customers_f_kind")

try:
    filters = records.CustomerFilter(id=f_id, nome=nome or None, email=email or None, telefone=telefone or None,
                                     stubs={"all": None, "real": False, "stubs": True}[kind])
    total = read(records.count_customers, filters=filters)
except records.RecordError as exc:
    st.error(md(str(exc)))
    st.stop()

URL.mirror({"id": f_id, "nome": nome, "email": email, "telefone": telefone, "kind": "" if kind == "all" else kind})

request = ui.page_request(KEY, signature=filters, total=total)
rows = read(records.list_customers, filters=filters, **request.kwargs()) if total else []
table = pd.DataFrame([{"id": c.id, "nome": c.nome, "email": c.email, "telefone": c.telefone,
                       "stub": c.is_stub} for c in rows],
                     columns=["id", "nome", "email", "telefone", "stub"])
selected = ui.record_table(KEY, table, column_config={
    "id": st.column_config.NumberColumn("Id", format="%d"), "nome": "Name", "email": "Email",
    "telefone": "Phone", "stub": "Stub"})
ui.pager_controls(KEY, request, total, [c.id for c in rows], "customers")
ui.download_all(KEY, "customers", total, lambda: pd.DataFrame(
    [records.as_dict(c) for c in read_fresh(records.export_customers, filters=filters)]))
if selected is None and total == 1:
    selected = rows[0].id
if selected is None and total:
    st.caption("Select a row to see the customer whole and correct it.")


def customer_form(prefix: str, customer: records.Customer | None) -> dict:
    """Name, email and phone inputs (inside a form)."""
    c1, c2, c3 = st.columns(3)
    return {"nome": c1.text_input("Name", value=(customer.nome or "") if customer else "", key=f"{prefix}_nome"),
            "email": c2.text_input("Email (optional)", value=(customer.email or "") if customer else "",
                                   key=f"{prefix}_email"),
            "telefone": c3.text_input("Phone (optional)", value=(customer.telefone or "") if customer else "",
                                      key=f"{prefix}_tel", help="10 or 11 digits: area code and number.")}


customer = read_fresh(records.get_customer, id=selected) if selected else None
if customer is not None:
    st.subheader(f"Customer {customer.id}" + (f": {md(customer.nome)}" if customer.nome else " (stub)"))
    st.markdown(f"**Email** {md(customer.email or '-')} · **Phone** {md(customer.telefone or '-')} · "
                f"**Registered** {customer.created_at:%Y-%m-%d %H:%M} · "
                f"**Last changed** {customer.updated_at:%Y-%m-%d %H:%M}")
    service_filter = records.ServiceFilter(id_cliente=customer.id)
    n_services = read(records.count_services, filters=service_filter)
    services = read(records.list_services, filters=service_filter, limit=200, as_of=date.today())
    st.markdown(f"**{n_services} service{'s' if n_services != 1 else ''}**")
    if services:
        st.dataframe(pd.DataFrame([{
            "id": s.id, "angel": s.angel, "polo": s.polo, "deadline": s.data_limite,
            "visit": s.data_de_atendimento, "status": records.STATUS_LABELS[s.status]} for s in services]),
            hide_index=True, width="stretch")
        st.page_link("../pages/services.py", label="Open these services", icon=":material/assignment:",
                     query_params={"id_cliente": str(customer.id)})

    if can(actor, "analyst"):
        with st.expander("Correct this customer", expanded=customer.is_stub):
            with st.form(f"edit_customer_{customer.id}"):
                values = customer_form(f"customers_edit_{customer.id}", customer)
                if st.form_submit_button("Save changes", type="primary"):
                    try:
                        write(records.update_customer, actor=actor, id=customer.id, **values)
                    except ERRORS as exc:
                        st.error(md(str(exc)))
                    else:
                        done(KEY, f"Customer {customer.id} saved.")
    if can(actor, "admin"):
        with st.expander("Delete this customer"):
            sure = st.checkbox(f"Yes, delete customer {customer.id}", key=f"customers_delete_{customer.id}")
            with_services = False
            if n_services:
                with_services = st.checkbox(
                    f"Also delete their {n_services} service{'s' if n_services != 1 else ''} "
                    "(they leave the indicators)", key=f"customers_delete_services_{customer.id}")
            if st.button("Delete customer", type="primary", disabled=not sure, key=f"customers_delete_button_{customer.id}"):
                try:
                    gone = write(records.delete_customer, actor=actor, id=customer.id, with_services=with_services)
                except ERRORS as exc:
                    st.error(md(str(exc)))
                else:
                    st.session_state.pop("customers_table", None)
                    done(KEY, f"Customer {customer.id} deleted"
                                 + (f", with {gone} service{'s' if gone != 1 else ''}." if gone else "."))

if can(actor, "analyst"):
    with st.expander("Register a customer", icon=":material/person_add:"):
        with st.form("create_customer", clear_on_submit=False):
            new_id = st.text_input("Customer id", key="customers_new_id", help="The operation's id_cliente.")
            values = customer_form("customers_new", None)
            if st.form_submit_button("Register customer", type="primary"):
                try:
                    created = write(records.create_customer, actor=actor, id=new_id, **values)
                except ERRORS as exc:
                    st.error(md(str(exc)))
                else:
                    done(KEY, f"Customer {created.id} registered.")
