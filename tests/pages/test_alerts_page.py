"""The Alerts page in AppTest: admins only, add a rule, send a test to a local receiver, the history;
a failed delivery shows on Monitoring."""
from tests.core.test_alerts import SECRET_PATH, receiver  # noqa: F401 - the local webhook receiver fixture
from tests.pages.apptest import by_label, logged_in, open_page, texts


def test_only_admins_see_the_alerts(db):
    from tests.api.conftest import add_user

    add_user(db, "ana.analyst", "analyst")
    at = open_page(logged_in("ana.analyst", "a long test passphrase"), "alerts.py")
    assert "Not allowed: this page needs the **admin** role and you are **analyst**." in texts(at)
    assert "Alerts" not in [link.label for link in at.get("page_link")]


def test_add_a_rule_send_a_test_and_read_the_history(db, receiver):
    at = open_page(logged_in(), "alerts.py")
    assert "No rule yet" in texts(at) and "Nothing has fired yet." in texts(at)
    by_label(at.selectbox, "When").set_value("load_failed").run()
    at.text_input(key="alerts_new_name").input("Loads")
    at.text_input(key="alerts_new_webhook").input(receiver.url)
    next(b for b in at.button if b.label == "Add the rule").click().run()
    assert "Rule Loads added." in texts(at)
    assert "A file load failed or was interrupted." in texts(at)
    assert SECRET_PATH not in texts(at)  # the webhook shows by its host only
    next(b for b in at.button if b.label == "Send a test").click().run()
    assert f"Test delivered to {receiver.url.split('/services')[0]}." in texts(at)
    assert receiver.bodies == [{"text": "Test of the alert rule Loads, sent by admin: this channel works."}]
    at.run()
    history = at.dataframe[0].value
    assert list(history[["rule", "by", "test", "channel", "status", "attempts"]].itertuples(index=False, name=None)) == [
        ("Loads", "admin", True, "webhook", "delivered", 1)]

    receiver.mode = "fail"
    next(b for b in at.button if b.label == "Send a test").click().run()
    assert "failed: the receiver answered HTTP 500" in texts(at)
    monitoring = open_page(at, "monitoring.py")
    assert "Alert deliveries failing" in texts(monitoring)
    failing = next(df.value for df in monitoring.dataframe if "error" in df.value.columns)
    assert list(failing["error"]) == ["the receiver answered HTTP 500"]


def test_a_rule_that_cannot_be_saved_says_why(db):
    at = open_page(logged_in(), "alerts.py")
    by_label(at.selectbox, "When").set_value("sla_below").run()
    at.text_input(key="alerts_new_name").input("SLA")
    next(b for b in at.button if b.label == "Add the rule").click().run()
    assert "Give the rule a webhook or at least one e-mail address to send to." in [e.value for e in at.error]
