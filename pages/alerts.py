"""Alerts (admin): rules that push the day's numbers to a webhook or e-mail, a test per rule, and the
history of every firing and delivery. The worker (`python -m core alerts run`) evaluates them."""
from datetime import time

import pandas as pd
import streamlit as st

from core import alerts, indicators, notifications
from dashboard.common import engine, read, read_fresh, settings, write
from dashboard.auth import require_role
from dashboard.i18n import N_, _, number, percent, stored_text
from dashboard.ui import done, flash, md, refusals_shown, table, word

actor = require_role("admin")
cfg = settings()
KEY = "alerts"
EVERY_POLO = ""
STATUSES = {"pending": N_("waiting to retry"), "delivered": N_("delivered"), "failed": N_("failed")}
HEADINGS = {"fired": N_("When (UTC)"), "rule": N_("Rule"), "subject": N_("Polo or load"), "by": N_("By"),
            "test": N_("Test"), "channel": N_("Channel"), "to": N_("To"), "status": N_("Delivery"),
            "attempts": N_("Attempts"), "error": N_("Last error"), "message": N_("Message")}

st.title(_("Alerts"))
st.caption(_("Rules that send the day's numbers to a webhook (Slack, Microsoft Teams or any receiver of a JSON "
             "POST with a text field) or by e-mail. The alerts worker (`python -m core alerts run`, started by "
             "`make run` and by docker compose) evaluates them every minute; a rule fires once per polo and day "
             "while its condition holds, and again after it clears. A failed delivery is retried after 1, 2, 4, "
             "8 and 16 minutes."))
flash(KEY)
st.caption(_("Time zone {zone} · daily summary at {time} · e-mail: {mail}").format(
    zone=cfg.timezone, time=cfg.daily_summary_time.strftime("%H:%M"),
    mail=_("through {host}:{port} from {sender}").format(host=cfg.smtp_host, port=cfg.smtp_port, sender=cfg.smtp_from)
    if cfg.smtp_host else _("not set up (SMTP_HOST); rules send to their webhooks only")))

polos = read(indicators.polos)
kinds = word(alerts.KIND_LABELS)


def describe(rule: alerts.Rule) -> str:
    """What a rule watches, in a sentence."""
    where = md(rule.polo) if rule.polo else _("every polo")
    if rule.kind == "sla_below":
        threshold = cfg.sla_target if rule.threshold is None else rule.threshold
        return _("Month-to-date SLA under {threshold} in {where}.").format(threshold=percent(threshold, 1), where=where)
    if rule.kind == "open_due_today":
        return _("More than {n} services due today still open from {time}, in {where}.").format(
            n=number(rule.open_limit), time=rule.at_time.strftime("%H:%M"), where=where)
    if rule.kind == "load_failed":
        return _("A file load failed or was interrupted.")
    return _("Every day at {time}: yesterday's SLA and visits per polo, today's open services (e-mail: with the "
             "table as CSV).").format(time=cfg.daily_summary_time.strftime("%H:%M"))


def rule_fields(prefix: str, kind: str, rule: alerts.Rule | None) -> dict:
    """The fields of a rule of `kind` (inside a form); the webhook is never shown again once saved."""
    values = {"name": st.text_input(_("Name"), value=rule.name if rule else "", key=f"{prefix}_name",
                                    help=_("Starts every message of the rule."))}
    if kind in ("sla_below", "open_due_today"):
        options = [EVERY_POLO, *polos] + ([rule.polo] if rule and rule.polo and rule.polo not in polos else [])
        values["polo"] = st.selectbox("Polo", options, index=options.index(rule.polo) if rule and rule.polo else 0,
                                      key=f"{prefix}_polo",
                                      format_func=lambda p, every=_("Every polo"): p or every) or None
    if kind == "sla_below":
        current = (rule.threshold if rule and rule.threshold is not None else cfg.sla_target) * 100
        values["threshold"] = st.number_input(_("Fire when the month-to-date SLA is under (%)"), min_value=0.0,
                                              max_value=100.0, value=float(current), step=0.5, key=f"{prefix}_threshold",
                                              help=_("Default: the SLA target ({target}).").format(
                                                  target=percent(cfg.sla_target, 0))) / 100
    if kind == "open_due_today":
        c1, c2 = st.columns(2)
        values["open_limit"] = c1.number_input(_("Fire above this many services due today still open"), min_value=0,
                                               value=rule.open_limit if rule else 10, step=1, key=f"{prefix}_limit")
        values["at_time"] = c2.time_input(_("From this time of day"), value=rule.at_time if rule else time(15, 0),
                                          key=f"{prefix}_at", step=900,
                                          help=_("In the operation's time zone ({zone}).").format(zone=cfg.timezone))
    values["webhook_url"] = st.text_input(
        _("Webhook URL"), type="password", key=f"{prefix}_webhook",
        placeholder=_("saved: leave empty to keep it") if rule and rule.webhook_url else "https://hooks.slack.com/services/...",
        help=_("A Slack or Microsoft Teams incoming webhook, or any address that takes a JSON POST with a text field. "
               "Only admins see it; never logged."))
    values["emails"] = [st.text_input(_("E-mail addresses"), value=", ".join(rule.emails) if rule else "",
                                      key=f"{prefix}_emails", help=_("Separated by commas; needs SMTP_HOST."))]
    return values


def save(fn, message: str, **kwargs) -> None:
    with refusals_shown():
        saved = write(fn, actor=actor, **kwargs)
        done(KEY, message.format(name=saved.name if saved else kwargs.get("name", "")))


# --- the rules ---------------------------------------------------------------------------------

st.subheader(_("Rules"))
rules = read_fresh(alerts.list_rules, actor=actor)
if not rules:
    st.info(_("No rule yet: add one below, e.g. the month-to-date SLA of every polo under the target, sent to a "
              "Slack channel."), icon=":material/notifications_off:")
for rule in rules:
    to = ", ".join(filter(None, [rule.webhook_host and _("webhook {host}").format(host=rule.webhook_host), *rule.emails]))
    label = f"{'🔔' if rule.active else '🔕'} {rule.name} · {kinds(rule.kind)}"
    with st.expander(label):
        st.markdown(describe(rule) + " " + _("Sends to: {to}.").format(to=md(to)))
        if not rule.active:
            st.caption(_("Switched off: the worker skips it."))
        c1, c2, c3 = st.columns([1, 1, 2])
        if c1.button(_("Send a test"), key=f"alerts_test_{rule.id}", icon=":material/send:"):
            with refusals_shown():
                outcomes = alerts.send_test(engine(), settings=cfg, actor=actor, id=rule.id)
                for o in outcomes:
                    if o.delivered:
                        st.success(_("Test delivered to {to}.").format(to=md(o.target)))
                    else:
                        st.error(_("Test to {to} failed: {reason}").format(
                            to=md(o.target), reason=md(stored_text(o.error, notifications.REASONS))))
        if c2.button(_("Switch off") if rule.active else _("Switch on"), key=f"alerts_switch_{rule.id}"):
            save(alerts.set_active, _("Rule {name} saved."), id=rule.id, active=not rule.active)
        with st.form(f"alerts_edit_{rule.id}"):
            values = rule_fields(f"alerts_edit_{rule.id}", rule.kind, rule)
            if st.form_submit_button(_("Save changes"), type="primary"):
                save(alerts.update_rule, _("Rule {name} saved."), id=rule.id, active=rule.active,
                     keep_webhook=not values["webhook_url"], **values)
        sure = c3.checkbox(_("Yes, delete rule {name}").format(name=md(rule.name)), key=f"alerts_delete_{rule.id}")
        if c3.button(_("Delete rule"), disabled=not sure, key=f"alerts_delete_button_{rule.id}"):
            with refusals_shown():
                write(alerts.delete_rule, actor=actor, id=rule.id)
                done(KEY, _("Rule {name} deleted; its history stays.").format(name=rule.name))

with st.expander(_("Add a rule"), icon=":material/add_alert:", expanded=not rules):
    kind = st.selectbox(_("When"), alerts.KINDS, format_func=kinds, key="alerts_new_kind")
    with st.form("alerts_new"):
        values = rule_fields("alerts_new", kind, None)
        if st.form_submit_button(_("Add the rule"), type="primary"):
            save(alerts.create_rule, _("Rule {name} added."), kind=kind, **values)

# --- the history -------------------------------------------------------------------------------

st.subheader(_("What was sent"))
firings = read_fresh(alerts.list_firings, actor=actor, limit=200)
if not firings:
    st.info(_("Nothing has fired yet."), icon=":material/history:")
else:
    rows = [{"fired": f.fired_at.replace(tzinfo=None), "rule": f.rule_name, "subject": f.subject, "by": f.triggered_by,
             "test": f.test, "channel": d.channel, "to": d.target, "status": d.status, "attempts": d.attempts,
             "error": stored_text(d.last_error, notifications.REASONS) or "", "message": f.message}
            for f in firings for d in f.deliveries]
    df = pd.DataFrame(rows)
    table(df, seconds=("fired",), words={"status": STATUSES},
          column_config={c: _(h) for c, h in HEADINGS.items()})
