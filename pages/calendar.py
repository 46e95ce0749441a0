"""Calendar (admin): the non-working days beyond the national holidays, e.g. Carnival."""
from datetime import date

import pandas as pd
import streamlit as st
from babel.dates import format_date

from core import calendar, operation_day
from core.definitions import Period
from dashboard.auth import require_role
from dashboard.common import read_fresh, settings, write
from dashboard.i18n import _, current, date_input_format, day
from dashboard.ui import done, download_buttons, flash, refusals_shown, table

actor = require_role("admin")
cfg = settings()

st.title(_("Calendar"))
st.caption(_("Business days are Monday to Friday, except the national holidays of {country} (from the "
             "`holidays` package, always applied) and the non-working days added here. Productivity divides "
             "visits by business days, so adding a day raises it for that period.").format(country=cfg.holiday_country))

flash("calendar")

added = read_fresh(calendar.non_working_days)
year = st.number_input(_("Year"), min_value=2000, max_value=2100, value=operation_day.today(cfg).year, step=1, key="calendar_year")
period = Period(date(int(year), 1, 1), date(int(year), 12, 31))
rows = [{"day": d, "weekday": format_date(d, "EEEE", locale=current()), "kind": _("national holiday"),
         "reason": name, "added by": ""}
        for d, name in calendar.national_holidays(period, country=cfg.holiday_country).items()]
rows += [{"day": d.day, "weekday": format_date(d.day, "EEEE", locale=current()), "kind": _("non-working day"),
          "reason": d.reason, "added by": d.added_by} for d in added if d.day.year == year]
days = pd.DataFrame(sorted(rows, key=lambda r: r["day"]))
table(days)
download_buttons(days, f"days-off-{year}")

add_col, remove_col = st.columns(2)
with add_col, st.form("add_day", clear_on_submit=True):
    st.subheader(_("Add a non-working day"))
    chosen_day = st.date_input(_("Day"), value=None, format=date_input_format(), key="calendar_day")
    reason = st.text_input(_("Reason"), placeholder="Carnaval", key="calendar_reason")
    if st.form_submit_button(_("Add"), type="primary"):
        if chosen_day is None:
            st.error(_("Pick the day."))
        else:
            with refusals_shown():
                write(calendar.add_non_working_day, actor=actor, day=chosen_day, reason=reason)
                done("calendar", _("{day} is now a non-working day.").format(day=day(chosen_day)))

with remove_col:
    st.subheader(_("Remove a non-working day"))
    if not added:
        st.caption(_("None added yet."))
    else:
        which = st.selectbox(_("Day"), [d.day for d in added], key="calendar_remove",
                             format_func=lambda d: f"{day(d)} · " + next(a.reason for a in added if a.day == d))
        if st.button(_("Remove"), key="calendar_remove_button"):
            with refusals_shown():
                write(calendar.remove_non_working_day, actor=actor, day=which)
                done("calendar", _("{day} is a business day again.").format(day=day(which)))
