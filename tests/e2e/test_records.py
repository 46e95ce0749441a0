"""In a browser: register a late service, see its polo's SLA drop, correct the visit, see it recover."""
from datetime import date, datetime

from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from core import records
from core.accounts import Actor
from tests.e2e.conftest import login, wait_idle

AS_OF = date(2022, 3, 10)  # the day statuses are as of, where a test reads them

ADMIN = Actor("admin", "admin")
POLO = "RJ - SAO GONÇALO"


def pick(form, page, label: str, option: str) -> None:
    """Choose an existing value in a selectbox: typing filters the options (the list opens on typing),
    then click the exact one (not "Add: ...", which would be a new value). Retried: on a busy machine
    the first keys can arrive before the combobox listens."""
    box = form.get_by_label(label, exact=True)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(4):
        box.click()
        box.fill("")
        box.press_sequentially(option, delay=20)
        try:
            choice.wait_for(timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        choice.click()
        return
    raise AssertionError(f"the option {option!r} of {label!r} never appeared")


def type_date(form, label: str, value: str) -> None:
    """Type DD/MM/YYYY into a date field (segments: each typed segment moves to the next)."""
    form.get_by_label(label, exact=True).get_by_role("spinbutton").first.click()
    form.page.keyboard.type(value.replace("/", ""))
    form.page.keyboard.press("Tab")


def test_a_late_service_lowers_its_polos_sla_until_corrected(db, app_url, browser_page):
    with db.begin() as conn:
        records.create_customer(conn, actor=ADMIN, id=1, nome="José da Silva")
        records.create_service(conn, as_of=AS_OF, actor=ADMIN, id=100, id_cliente=1, angel="Pedro Wanderley de", polo=POLO,
                               data_limite=date(2022, 3, 1), data_de_atendimento=datetime(2022, 3, 1, 10, 0))
    page = browser_page
    login(page, app_url, path="sla_polo")
    page.get_by_test_id("stPlotlyChart").first.get_by_text("100.0%").first.wait_for()

    # register a service visited four days after its deadline
    page.goto(f"{app_url}/services")
    wait_idle(page)
    page.get_by_text("Register a service").click()
    form = page.get_by_test_id("stForm").filter(has_text="Register service")
    # the next free id; expect() retries: read at once, the field can still be mounting (seen in CI)
    expect(form.get_by_label("Service id (id_atendimento)", exact=True)).to_have_value("101")
    form.get_by_label("Customer id", exact=True).fill("1")
    pick(form, page, "Polo", POLO)
    pick(form, page, "Angel", "Pedro Wanderley de")
    type_date(form, "Deadline", "03/01/2022")  # English: month first
    type_date(form, "Visit date (empty: not visited)", "03/05/2022")
    form.get_by_role("button", name="Register service").click()
    page.get_by_text("Service 101 registered.").wait_for()

    # its polo's SLA drops to 1 on time of 2
    page.goto(f"{app_url}/sla_polo")
    page.get_by_test_id("stPlotlyChart").first.get_by_text("50.0%").first.wait_for()

    # correct the visit date (the service opens whole when it is the only match)
    page.goto(f"{app_url}/services?status=late")
    page.get_by_role("heading", name="Service 101 · late").wait_for()
    page.get_by_text("Correct this service").click()
    form = page.get_by_test_id("stForm").filter(has_text="Save changes")
    type_date(form, "Visit date (empty: not visited)", "03/01/2022")
    form.get_by_role("button", name="Save changes").click()
    page.get_by_text("Service 101 saved.").wait_for()

    # and the SLA recovers
    page.goto(f"{app_url}/sla_polo")
    page.get_by_test_id("stPlotlyChart").first.get_by_text("100.0%").first.wait_for()
