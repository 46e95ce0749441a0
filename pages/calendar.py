"""Calendar (admin): the non-working days beyond the national holidays, e.g. Carnival."""
from datetime import date

import pandas as pd
import streamlit as st

from core import indicators
from core.accounts import PermissionDenied
from core.definitions import Period
from dashboard.auth import require_role
from dashboard.common import read_fresh, settings, write
from dashboard.ui import done, download_buttons, flash, md

actor = require_role("admin")
cfg = settings()

st.title("Calendar")
st.caption(f"Business days are Monday to Friday, except the national holidays of {cfg.holiday_country} "
           "(from the `holidays` package, always applied) and the non-working days added here. "
           "Productivity divides visits by business days, so adding a day raises it for that period.")

flash("calendar")

added = read_fresh(indicators.non_working_days)
year = st.number_input("Year", min_value=2000, max_value=2100, value=date.today().year, step=1, key="calendar_year")
period = Period(date(int(year), 1, 1), date(int(year), 12, 31))
rows = [{"day": d, "weekday": f"{d:%A}", "kind": "national holiday", "reason": name, "added by": ""}
        for d, name in indicators.national_holidays(period, cfg.holiday_country).items()]
rows += [{"day": d.day, "weekday": f"{d.day:%A}", "kind": "non-working day", "reason": d.reason,
          "added by": d.added_by} for d in added if d.day.year == year]
table = pd.DataFrame(sorted(rows, key=lambda r: r["day"]))
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"day": st.column_config.DateColumn("day", format="DD/MM/YYYY")})
download_buttons(table, f"days-off-{year}")

add_col, remove_col = st.columns(2)
with add_col, st.form("add_day", clear_on_submit=True):
    st.subheader("Add a non-working day")
    day = st.date_input("Day", value=None, format="DD/MM/YYYY", key="calendar_day")
    reason = st.text_input("Reason", placeholder="Carnaval", key="calendar_reason")
    if st.form_submit_button("Add", type="primary"):
        if day is None:
            st.error("Pick the day.")
        else:
            try:
                write(indicators.add_non_working_day, actor=actor, day=day, reason=reason)
            except (indicators.CalendarError, PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                done("calendar", f"{day:%d/%m/%Y} is now a non-working day.")

with remove_col:
    st.subheader("Remove a non-working day")
    if not added:
        st.caption("None added yet.")
    else:
        which = st.selectbox("Day", [d.day for d in added], key="calendar_remove",
                             format_func=lambda d: f"{d:%d/%m/%Y} · " + next(a.reason for a in added if a.day == d))
        if st.button("Remove", key="calendar_remove_button"):
            try:
                write(indicators.remove_non_working_day, actor=actor, day=which)
            except (indicators.CalendarError, PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                done("calendar", f"{which:%d/%m/%Y} is a business day again.")
