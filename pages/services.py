"""Services: find, register, correct, delete (admin).

Indicator pages open the services behind a number with query parameters, e.g.
`services?polo=RJ - SAO GONÇALO&deadline_from=2022-03-01&deadline_to=2022-03-31&status=late`
(also angel, visit_from, visit_to, id_cliente, and open_on: no visit dated on or before that day, the
Today page's "open"). The filter bar starts from them and writes back to
the URL, so a link reproduces the view.
"""
from datetime import datetime, time

import pandas as pd
import streamlit as st

from core import operation_day, records
from core.accounts import can
from core.definitions import STATUS_LABELS, STATUSES
from dashboard import records_ui as ui
from dashboard.auth import require_role
from dashboard.common import read, read_fresh, settings, write
from dashboard.filters import UrlFilters, UrlParam, url_date
from dashboard.i18n import N_, _, date_input_format, day, error_text, moment, ngettext
from dashboard.ui import definitions, done, flash, md, refusals_shown

actor = require_role("viewer")
KEY = "services"
ANY = ""
today = operation_day.today(settings())  # statuses are as of the operation's day (TIMEZONE)


def known_status(text: str) -> str:
    if text not in STATUSES:
        raise ValueError(N_("not a status (on_time, late, not_visited, open)"))
    return text


# The filter bar starts from a followed link's parameters and writes itself back to the URL.
URL = UrlFilters("services_f", (
    UrlParam("polo"), UrlParam("angel"), UrlParam("id_cliente"), UrlParam("status", known_status),
    *(UrlParam(name, url_date, None) for name in ("deadline_from", "deadline_to", "visit_from", "visit_to", "open_on"))))

st.title(_("Services"))
definitions("on_time", "late", "not_visited", "open")
flash(KEY)

URL.follow_link()
choices = read(records.service_choices)
polos = [ANY, *choices["polos"]]
for name, options in (("polo", polos),):
    if st.session_state.get(f"services_f_{name}") not in (None, *options):
        options.append(st.session_state[f"services_f_{name}"])  # a link to a polo with no services left

with st.container(border=True):
    row1 = st.columns([1, 1, 2, 2, 1.3])
    f_id = ui.id_input(_("Service id"), "services_f_id", container=row1[0])
    f_cliente = ui.id_input(_("Customer id"), "services_f_id_cliente", container=row1[1])
    polo = row1[2].selectbox("Polo", polos, key="services_f_polo", format_func=lambda v, any_label=_("(any)"): v or any_label)
    angels = [ANY, *(read(records.angels_of_polo, polo=polo) if polo else choices["angels"])]
    if st.session_state.get("services_f_angel") not in angels:
        angels.append(st.session_state["services_f_angel"])
    angel = row1[3].selectbox("Angel", angels, key="services_f_angel", format_func=lambda v, any_label=_("(any)"): v or any_label)
    status = row1[4].selectbox(_("Status"), [ANY, *STATUSES], key="services_f_status",
                               format_func={ANY: _("(any)"), **{s: _(STATUS_LABELS[s]) for s in STATUSES}}.get)
    row2 = st.columns(5)
    deadline_from = row2[0].date_input(_("Deadline from"), key="services_f_deadline_from", format=date_input_format())
    deadline_to = row2[1].date_input(_("Deadline to"), key="services_f_deadline_to", format=date_input_format())
    visit_from = row2[2].date_input(_("Visit from"), key="services_f_visit_from", format=date_input_format())
    visit_to = row2[3].date_input(_("Visit to"), key="services_f_visit_to", format=date_input_format())
    open_on = row2[4].date_input(_("Open on"), key="services_f_open_on", format=date_input_format(),
                                 help=_("Services with no visit dated on or before this day (never visited, or "
                                        "visited after it): the Today page's open services."))

with refusals_shown(stop=True):
    filters = records.ServiceFilter(id=f_id, id_cliente=f_cliente, polo=polo or None, angel=angel or None,
                                    status=status or None, deadline_from=deadline_from, deadline_to=deadline_to,
                                    visit_from=visit_from, visit_to=visit_to, open_on=open_on)
    total = read(records.count_services, filters=filters, as_of=today)

URL.mirror({"polo": polo, "angel": angel, "status": status, "id_cliente": f_cliente,
            "deadline_from": deadline_from, "deadline_to": deadline_to, "visit_from": visit_from,
            "visit_to": visit_to, "open_on": open_on})

request = ui.page_request(KEY, signature=(filters, today), total=total)
rows = read(records.list_services, filters=filters, as_of=today, **request.kwargs()) if total else []


def service_row(s: records.Service) -> dict:
    return {"id": s.id, "id_cliente": s.id_cliente, "angel": s.angel, "polo": s.polo,
            "data_limite": s.data_limite, "data_de_atendimento": s.data_de_atendimento,
            "status": _(STATUS_LABELS[s.status])}


table = pd.DataFrame([service_row(s) for s in rows],
                     columns=["id", "id_cliente", "angel", "polo", "data_limite", "data_de_atendimento", "status"])
selected = ui.record_table(KEY, table, column_config={
    "id": st.column_config.NumberColumn("Id", format="%d"),
    "id_cliente": st.column_config.NumberColumn(_("Customer"), format="%d"),
    "angel": "Angel", "polo": "Polo"})
ui.pager_controls(KEY, request, total, [s.id for s in rows], ngettext("**{n}** service", "**{n}** services", total))
ui.download_all(KEY, "services", total, lambda: pd.DataFrame(
    [service_row(s) for s in read_fresh(records.export_services, filters=filters, as_of=today)]),
    none=_("No service matches these filters."), count=ngettext("{n} service", "{n} services", total))
if selected is None and total == 1:
    selected = rows[0].id


# --- create / correct, with the two confirmations core may ask for ------------------------------

def save(fn, message: str, **kwargs) -> None:
    """Call a core write; on a far visit or an unknown customer, keep the request to confirm (the
    question, in the user's language, shown with its buttons below)."""
    with refusals_shown():
        try:
            saved = write(fn, actor=actor, as_of=today, **kwargs)
        except (records.FarVisit, records.UnknownCustomer) as exc:  # a question, asked below with its buttons
            st.session_state["services_pending"] = {"save": fn, "kwargs": kwargs, "message": error_text(exc),
                                                    "flag": "confirm_far_visit" if isinstance(exc, records.FarVisit)
                                                    else "create_missing_customer", "done": message}
            st.rerun()
        st.session_state.pop("services_pending", None)
        for key in [k for k in st.session_state if str(k).startswith("services_new_")]:
            del st.session_state[key]  # the create form starts empty again, with the next free id
        done(KEY, message.format(id=saved.id))


pending = st.session_state.get("services_pending")
if pending and can(actor, "analyst"):
    with st.container(border=True):
        st.warning(md(pending["message"]))
        label = (_("Save anyway: the dates are right") if pending["flag"] == "confirm_far_visit"
                 else _("Create customer {id} (a stub to complete later) and save").format(
                     id=pending["kwargs"]["id_cliente"]))
        c1, c2 = st.columns([3, 1])
        if c1.button(label, type="primary", key="services_confirm"):
            st.session_state.pop("services_pending", None)
            save(pending["save"], pending["done"], **{**pending["kwargs"], pending["flag"]: True})
        if c2.button(_("Cancel"), key="services_cancel"):
            st.session_state.pop("services_pending", None)
            st.rerun()


def service_form(prefix: str, service: records.Service | None) -> dict:
    """The editable fields of a service (inside a form)."""
    c1, c2, c3 = st.columns([1, 2, 2])
    polo_options = choices["polos"] or []
    angel_options = choices["angels"] or []
    values = {
        "id_cliente": c1.text_input(_("Customer id"), value=str(service.id_cliente) if service else "",
                                    key=f"{prefix}_cliente"),
        "polo": c2.selectbox("Polo", polo_options, accept_new_options=True, key=f"{prefix}_polo",
                             index=polo_options.index(service.polo) if service and service.polo in polo_options
                             else None, placeholder=_("Choose or type a polo")),
        "angel": c3.selectbox("Angel", angel_options, accept_new_options=True, key=f"{prefix}_angel",
                              index=angel_options.index(service.angel) if service and service.angel in angel_options
                              else None, placeholder=_("Choose or type an angel")),
    }
    c4, c5, c6 = st.columns(3)
    values["data_limite"] = c4.date_input(_("Deadline"), value=service.data_limite if service else None,
                                          key=f"{prefix}_deadline", format=date_input_format())
    visit = service.data_de_atendimento if service else None
    visit_day = c5.date_input(_("Visit date (empty: not visited)"), value=visit.date() if visit else None,
                              key=f"{prefix}_visit_day", format=date_input_format())
    visit_time = c6.time_input(_("Visit time"), value=visit.time() if visit else time(9, 0),
                               key=f"{prefix}_visit_time", step=60)
    values["data_de_atendimento"] = datetime.combine(visit_day, visit_time) if visit_day else None
    return values


service = read_fresh(records.get_service, id=selected, as_of=today) if selected else None
if service is not None:
    st.subheader(_("Service {id} · {status}").format(id=service.id, status=_(STATUS_LABELS[service.status])))
    visit = moment(service.data_de_atendimento) if service.data_de_atendimento else _(STATUS_LABELS["not_visited"])
    st.markdown(_("**Polo** {polo} · **Angel** {angel} · **Deadline** {deadline} · **Visit** {visit} · "
                  "**Last changed** {changed}").format(polo=md(service.polo), angel=md(service.angel),
                                                       deadline=day(service.data_limite), visit=visit,
                                                       changed=moment(service.updated_at)))
    st.page_link("../pages/customers.py", label=_("Customer {id}").format(id=service.id_cliente), icon=":material/person:",
                 query_params={"id": str(service.id_cliente)})
    if can(actor, "analyst"):
        with st.expander(_("Correct this service")):
            with st.form(f"edit_service_{service.id}"):
                values = service_form(f"services_edit_{service.id}", service)
                if st.form_submit_button(_("Save changes"), type="primary"):
                    save(records.update_service, _("Service {id} saved."), id=service.id, **values)
    if can(actor, "admin"):
        with st.expander(_("Delete this service")):
            sure = st.checkbox(_("Yes, delete service {id}").format(id=service.id), key=f"services_delete_{service.id}")
            if st.button(_("Delete service"), type="primary", disabled=not sure, key=f"services_delete_button_{service.id}"):
                with refusals_shown():
                    write(records.delete_service, actor=actor, id=service.id, as_of=today)
                    st.session_state.pop("services_table", None)
                    done(KEY, _("Service {id} deleted.").format(id=service.id))
elif total:
    st.caption(_("Select a row to see the service whole and correct it."))

if can(actor, "analyst"):
    with st.expander(_("Register a service"), icon=":material/add_task:"):
        with st.form("create_service"):
            new_id = st.text_input(_("Service id (id_atendimento)"), value=str(read_fresh(records.next_service_id)),
                                   key="services_new_id", help=_("Offered: the next free id (highest + 1)."))
            values = service_form("services_new", None)
            if st.form_submit_button(_("Register service"), type="primary"):
                save(records.create_service, _("Service {id} registered."), id=new_id, **values)
