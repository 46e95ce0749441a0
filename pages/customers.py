"""Customers: find, register, correct, delete (admin). A customer shows their services."""
import pandas as pd
import streamlit as st

from core import operation_day, records
from core.accounts import can
from core.definitions import STATUS_LABELS
from dashboard import records_ui as ui
from dashboard.auth import require_role
from dashboard.common import read, read_fresh, settings, write
from dashboard.filters import UrlFilters, UrlParam
from dashboard.i18n import N_, _, moment, ngettext, number
from dashboard.ui import done, flash, md, refusals_shown, table

actor = require_role("viewer")
KEY = "customers"
KINDS = {"all": N_("all"), "real": N_("real customers"), "stubs": N_("stubs")}


def known_kind(text: str) -> str:
    if text not in KINDS:
        raise ValueError(N_("not a kind (all, real, stubs)"))
    return text


# The filter bar starts from a followed link (?id=N: the Services page links to a customer) and
# writes itself back to the URL.
URL = UrlFilters("customers_f", (UrlParam("id"), UrlParam("nome"), UrlParam("email"), UrlParam("telefone"),
                                 UrlParam("kind", known_kind, "all")))

st.title(_("Customers"))
st.caption(_("Text filters match anywhere, ignoring case and accents. A **stub** is a customer a service "
             "load created for an id not yet in the customers file: give it a name to complete it."))
flash(KEY)

URL.follow_link()
with st.container(border=True):
    cols = st.columns([1.2, 2, 2, 1.5, 1.3])
    f_id = ui.id_input(_("Customer id"), "customers_f_id", container=cols[0])
    nome = cols[1].text_input(_("Name contains"), key="customers_f_nome")
    email = cols[2].text_input(_("Email contains"), key="customers_f_email")
    telefone = cols[3].text_input(_("Phone contains"), key="customers_f_telefone", help=_("Digits only are compared."))
    kind = cols[4].selectbox(_("Kind"), list(KINDS), format_func={k: _(v) for k, v in KINDS.items()}.get, key="customers_f_kind")

with refusals_shown(stop=True):
    filters = records.CustomerFilter(id=f_id, nome=nome or None, email=email or None, telefone=telefone or None,
                                     stubs={"all": None, "real": False, "stubs": True}[kind])
    total = read(records.count_customers, filters=filters)

URL.mirror({"id": f_id, "nome": nome, "email": email, "telefone": telefone, "kind": "" if kind == "all" else kind})

request = ui.page_request(KEY, signature=filters, total=total)
rows = read(records.list_customers, filters=filters, **request.kwargs()) if total else []
listed = pd.DataFrame([{"id": c.id, "nome": c.nome, "email": c.email, "telefone": c.telefone,
                       "stub": c.is_stub} for c in rows],
                     columns=["id", "nome", "email", "telefone", "stub"])
selected = ui.record_table(KEY, listed, column_config={"id": st.column_config.NumberColumn("Id", format="%d")})
ui.pager_controls(KEY, request, total, [c.id for c in rows], ngettext("**{n}** customer", "**{n}** customers", total))
ui.download_all(KEY, "customers", total, lambda: pd.DataFrame(
    [records.as_dict(c) for c in read_fresh(records.export_customers, filters=filters)]),
    none=_("No customer matches these filters."), count=ngettext("{n} customer", "{n} customers", total))
if selected is None and total == 1:
    selected = rows[0].id
if selected is None and total:
    st.caption(_("Select a row to see the customer whole and correct it."))


def customer_form(prefix: str, customer: records.Customer | None) -> dict:
    """Name, email and phone inputs (inside a form)."""
    c1, c2, c3 = st.columns(3)
    return {"nome": c1.text_input(_("Name"), value=(customer.nome or "") if customer else "", key=f"{prefix}_nome"),
            "email": c2.text_input(_("Email (optional)"), value=(customer.email or "") if customer else "",
                                   key=f"{prefix}_email"),
            "telefone": c3.text_input(_("Phone (optional)"), value=(customer.telefone or "") if customer else "",
                                      key=f"{prefix}_tel", help=_("10 or 11 digits: area code and number."))}


customer = read_fresh(records.get_customer, id=selected) if selected else None
if customer is not None:
    st.subheader(_("Customer {id}: {name}").format(id=customer.id, name=md(customer.nome)) if customer.nome
                 else _("Customer {id} (stub)").format(id=customer.id))
    st.markdown(_("**Email** {email} · **Phone** {phone} · **Registered** {created} · **Last changed** {changed}").format(
        email=md(customer.email or "-"), phone=md(customer.telefone or "-"), created=moment(customer.created_at),
        changed=moment(customer.updated_at)))
    service_filter = records.ServiceFilter(id_cliente=customer.id)
    today = operation_day.today(settings())
    n_services = read(records.count_services, filters=service_filter, as_of=today)
    services = read(records.list_services, filters=service_filter, limit=200, as_of=today)
    st.markdown(ngettext("**{n} service**", "**{n} services**", n_services).format(n=number(n_services)))
    if services:
        table(pd.DataFrame([{
            "id": s.id, "angel": s.angel, "polo": s.polo, "deadline": s.data_limite,
            "visit": s.data_de_atendimento, "status": _(STATUS_LABELS[s.status])} for s in services]),
            column_config={"id": st.column_config.NumberColumn("Id", format="%d")})
        st.page_link("../pages/services.py", label=_("Open these services"), icon=":material/assignment:",
                     query_params={"id_cliente": str(customer.id)})

    if can(actor, "analyst"):
        with st.expander(_("Correct this customer"), expanded=customer.is_stub):
            with st.form(f"edit_customer_{customer.id}"):
                values = customer_form(f"customers_edit_{customer.id}", customer)
                if st.form_submit_button(_("Save changes"), type="primary"):
                    with refusals_shown():
                        write(records.update_customer, actor=actor, id=customer.id, **values)
                        done(KEY, _("Customer {id} saved.").format(id=customer.id))
    if can(actor, "admin"):
        with st.expander(_("Delete this customer")):
            sure = st.checkbox(_("Yes, delete customer {id}").format(id=customer.id), key=f"customers_delete_{customer.id}")
            with_services = False
            if n_services:
                with_services = st.checkbox(
                    ngettext("Also delete their {n} service (it leaves the indicators)",
                             "Also delete their {n} services (they leave the indicators)", n_services).format(
                        n=number(n_services)), key=f"customers_delete_services_{customer.id}")
            if st.button(_("Delete customer"), type="primary", disabled=not sure, key=f"customers_delete_button_{customer.id}"):
                with refusals_shown():
                    gone = write(records.delete_customer, actor=actor, id=customer.id, with_services=with_services)
                    st.session_state.pop("customers_table", None)
                    done(KEY, ngettext("Customer {id} deleted, with {n} service.",
                                       "Customer {id} deleted, with {n} services.", gone).format(id=customer.id, n=gone)
                         if gone else _("Customer {id} deleted.").format(id=customer.id))

if can(actor, "analyst"):
    with st.expander(_("Register a customer"), icon=":material/person_add:"):
        with st.form("create_customer", clear_on_submit=False):
            new_id = st.text_input(_("Customer id"), key="customers_new_id", help=_("The operation's id_cliente."))
            values = customer_form("customers_new", None)
            if st.form_submit_button(_("Register customer"), type="primary"):
                with refusals_shown():
                    created = write(records.create_customer, actor=actor, id=new_id, **values)
                    done(KEY, _("Customer {id} registered.").format(id=created.id))
