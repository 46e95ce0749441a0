"""In a browser: log in (English, the test setting), switch to Portuguese in the account box, and meet
Overview in Portuguese with Brazilian numbers; the choice is the user's, kept for the next login."""
import sqlalchemy as sa

from tests.core.test_indicators import insert_services
from tests.e2e.conftest import login, wait_idle


def test_switching_to_portuguese_in_the_account_box(db, app_url, browser_page):
    with db.begin() as conn:
        insert_services(conn)
    page = browser_page
    login(page, app_url, path="overview")
    page.get_by_role("heading", name="Overview").wait_for()

    language = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Language")
    language.get_by_role("combobox").click()
    page.get_by_role("option", name="Português (Brasil)").click()
    page.get_by_role("heading", name="Visão geral").wait_for()
    wait_idle(page)
    metrics = page.get_by_test_id("stMetric")
    metrics.filter(has_text="Atendimentos").first.wait_for()
    assert metrics.filter(has_text="Produtividade").count() == 1
    assert metrics.filter(has_text="Não visitado").count() == 1
    assert metrics.filter(has_text="60,0%").count() == 1  # SLA of all data, decimal comma
    assert page.get_by_text("Filtros dos indicadores").count() == 1
    with db.connect() as conn:
        assert conn.scalar(sa.text("SELECT language FROM users WHERE username = 'admin'")) == "pt_BR"

    # a new page load (a new session, restored from the cookie) is in Portuguese too
    page.goto(f"{app_url}/sla_polo")
    page.get_by_role("heading", name="SLA por polo").wait_for()
    page.get_by_text("Conectado como").wait_for()


def test_the_login_page_speaks_the_browsers_language(app_url, _browser):
    """LANGUAGE is English in the tests; a browser set to Portuguese (Brazil) meets the login page in
    Portuguese (navigator.language and Accept-Language: pt-BR)."""
    context = _browser.new_context(locale="pt-BR", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(app_url)
        page.get_by_role("heading", name="Indicadores de logística").wait_for()
        page.get_by_role("button", name="Entrar").wait_for()
        assert page.get_by_label("Usuário").count() == 1
        assert page.get_by_role("heading", name="Logistics indicators").count() == 0
    finally:
        context.close()
