"""Every refusal of the record and account pages, in both languages (issue 20 item 2): each error path
is triggered through the page and its message is read in the user's language, English and Portuguese
(the Portuguese written out here, so a missing or wrong translation fails).

The admin's stored language picks the language; the pages show core's refusals through
dashboard.ui.refusals_shown.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import accounts, records
from core.accounts import Actor
from dashboard import i18n
from tests.pages.apptest import by_label, logged_in, open_page, texts

ADMIN = Actor("admin", "admin")
AS_OF = date(2022, 3, 10)
LANGUAGES = ("en", "pt_BR")


@pytest.fixture
def data(db):
    """Customers 1 (two services) and 2; services 10, 11 (customer 1) and 20 (customer 2)."""
    with db.begin() as conn:
        records.create_customer(conn, actor=ADMIN, id=1, nome="José da Silva", email="jose@example.com")
        records.create_customer(conn, actor=ADMIN, id=2, nome="Maria Souza")
        for id, client in ((10, 1), (11, 1), (20, 2)):
            records.create_service(conn, actor=ADMIN, id=id, id_cliente=client, angel="Pedro Wanderley de",
                                   polo="RJ - SAO GONÇALO", data_limite=date(2022, 3, 1),
                                   data_de_atendimento=datetime(2022, 3, 1, 9, 0), as_of=AS_OF)
    return db


def page_in(db, language: str, script: str):
    """The admin's page in `language` (the choice stored with the user, as the account box stores it)."""
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = :l WHERE username = 'admin'"), {"l": language})
    return open_page(logged_in(), script)


def said(language: str, english: str) -> str:
    """A label as the page writes it in `language`."""
    return i18n.translations(language).gettext(english)


def click(at, language: str, label: str) -> None:
    next(b for b in at.button if b.label == said(language, label)).click().run()
    assert not at.exception, at.exception


def shown(at, expected: str) -> bool:
    return expected in texts(at).replace("\\", "")


# --- Customers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, script, expected", [
    ("en", "customers.py", "Search the phone by its digits."),
    ("pt_BR", "customers.py", "Busque o telefone pelos seus dígitos."),
    ("en", "services.py", "The deadline range starts (3/10/2022) after it ends (3/1/2022)."),
    ("pt_BR", "services.py", "O intervalo de prazo começa (10/03/2022) depois de terminar (01/03/2022).")])
def test_a_refused_filter_stops_the_page(data, language, script, expected):
    at = page_in(data, language, script)
    if script == "customers.py":
        at.text_input(key="customers_f_telefone").input("abc").run()
    else:
        at.date_input(key="services_f_deadline_from").set_value(date(2022, 3, 10))
        at.date_input(key="services_f_deadline_to").set_value(date(2022, 3, 1)).run()
    assert shown(at, expected) and not at.dataframe  # the page stops at the refusal


@pytest.mark.parametrize("language, values, expected", [
    ("en", {"nome": ""}, "The name is required."),
    ("pt_BR", {"nome": ""}, "O nome é obrigatório."),
    ("en", {"id": "1", "nome": "Ana"}, "Customer 1 already exists."),
    ("pt_BR", {"id": "1", "nome": "Ana"}, "O cliente 1 já existe."),
    ("en", {"id": "7", "nome": "Ana", "email": "JOSE@example.com"},
     "The email JOSE@example.com is already used by customer 1."),
    ("pt_BR", {"id": "7", "nome": "Ana", "email": "JOSE@example.com"},
     "O email JOSE@example.com já é usado pelo cliente 1."),
    ("en", {"id": "7", "nome": "Ana", "email": "not-an-address"}, "The email 'not-an-address' is not a valid address."),
    ("pt_BR", {"id": "7", "nome": "Ana", "email": "not-an-address"},
     "O email 'not-an-address' não é um endereço válido."),
    ("en", {"id": "x", "nome": "Ana"}, "The customer id must be a whole number, not 'x'."),
    ("pt_BR", {"id": "x", "nome": "Ana"}, "O id do cliente deve ser um número inteiro, não 'x'."),
])
def test_customers_register_refusals(data, language, values, expected):
    at = page_in(data, language, "customers.py")
    keys = {"id": "customers_new_id", "nome": "customers_new_nome", "email": "customers_new_email"}
    for name, value in values.items():
        at.text_input(key=keys[name]).input(value)
    click(at, language, "Register customer")
    assert shown(at, expected)
    with data.connect() as conn:
        assert records.count_customers(conn) == 2  # nothing written


@pytest.mark.parametrize("language, expected", [
    ("en", "Customer 1 has 2 services. Delete those services too (admin), or keep the customer."),
    ("pt_BR", "O cliente 1 tem 2 atendimentos. Exclua também esses atendimentos (admin), ou mantenha o cliente.")])
def test_customers_delete_and_correct_refusals(data, language, expected):
    at = page_in(data, language, "customers.py")
    at.text_input(key="customers_f_id").input("1").run()
    at.checkbox(key="customers_delete_1").check().run()
    at.button(key="customers_delete_button_1").click().run()
    assert shown(at, expected)
    at.text_input(key="customers_edit_1_email").input("maria@")
    click(at, language, "Save changes")
    assert shown(at, {"en": "The email 'maria@' is not a valid address.",
                      "pt_BR": "O email 'maria@' não é um endereço válido."}[language])
    with data.connect() as conn:
        assert records.get_customer(conn, id=1).email == "jose@example.com"


# --- Services -------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, values, expected", [
    ("en", {"id": "10"}, "Service 10 already exists (the next free id is 21)."),
    ("pt_BR", {"id": "10"}, "O atendimento 10 já existe (o próximo id livre é 21)."),
    ("en", {"polo": None}, "The polo is required."),
    ("pt_BR", {"polo": None}, "O polo é obrigatório."),
])
def test_services_register_refusals(data, language, values, expected):
    at = page_in(data, language, "services.py")
    at.text_input(key="services_new_id").input(values.get("id", "21"))
    at.text_input(key="services_new_cliente").input("1")
    if "polo" not in values:
        at.selectbox(key="services_new_polo").set_value("RJ - SAO GONÇALO")
    at.selectbox(key="services_new_angel").set_value("Pedro Wanderley de")
    at.date_input(key="services_new_deadline").set_value(date(2022, 4, 1))
    click(at, language, "Register service")
    assert shown(at, expected)
    with data.connect() as conn:
        assert records.count_services(conn, as_of=AS_OF) == 3


@pytest.mark.parametrize("language, expected", [
    ("en", ["The visit is 731 days after the deadline (more than 365). Check the dates, or confirm that they are "
            "right.", "There is no customer 555. Create the customer first, or choose to create it now."]),
    ("pt_BR", ["O atendimento é 731 dias depois do prazo (mais de 365). Confira as datas, ou confirme que estão "
               "certas.", "Não existe o cliente 555. Cadastre o cliente antes, ou escolha criá-lo agora."])])
def test_services_questions_before_saving(data, language, expected):
    """A far visit and an unknown customer are asked about (a warning with its buttons), then saved."""
    at = page_in(data, language, "services.py")
    at.text_input(key="services_new_cliente").input("555")
    at.selectbox(key="services_new_polo").set_value("RJ - SAO GONÇALO")
    at.selectbox(key="services_new_angel").set_value("Pedro Wanderley de")
    at.date_input(key="services_new_deadline").set_value(date(2022, 3, 1))
    at.date_input(key="services_new_visit_day").set_value(date(2024, 3, 1))
    click(at, language, "Register service")
    assert [w.value for w in at.warning] == [expected[0]]
    at.button(key="services_confirm").click().run()
    assert [w.value for w in at.warning] == [expected[1]]
    at.button(key="services_confirm").click().run()
    assert shown(at, {"en": "Service 21 registered.", "pt_BR": "Atendimento 21 cadastrado."}[language])


# --- Users and the account box --------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_users_page_refusals(db, language):
    at = page_in(db, language, "users.py")
    by_label(at.main.text_input, said(language, "Username")).input("admin")
    by_label(at.main.text_input, said(language, "Initial password")).input("a-long-enough-one-77")
    click(at, language, "Create user")
    assert shown(at, {"en": "The username 'admin' is taken.",
                      "pt_BR": "O nome de usuário 'admin' já está em uso."}[language])
    at.selectbox(key="users_role_user").set_value("admin")
    at.selectbox(key="users_role_new").set_value("viewer")
    click(at, language, "Change role")
    assert shown(at, {"en": "This is the last active admin: make another admin first.",
                      "pt_BR": "Este é o último admin ativo: torne outro usuário admin primeiro."}[language])
    at.selectbox(key="users_password_user").set_value("admin")
    by_label(at.main.text_input, said(language, "New password")).input("short")
    click(at, language, "Reset password")
    assert shown(at, {"en": "The password needs at least 8 characters.",
                      "pt_BR": "A senha precisa de pelo menos 8 caracteres."}[language])
    click(at, language, "Create key")  # no name
    assert shown(at, {"en": "The key needs a name (what or who uses it).",
                      "pt_BR": "A chave precisa de um nome (o que ou quem a usa)."}[language])
    with db.connect() as conn:
        assert [(u.username, u.role) for u in accounts.list_users(conn)] == [("admin", "admin")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_account_box_refusals(db, language):
    at = page_in(db, language, "home.py")
    by_label(at.sidebar.text_input, said(language, "Current password")).input("not-the-password")
    by_label(at.sidebar.text_input, said(language, "New password")).input("my-new-words-9")
    by_label(at.sidebar.text_input, said(language, "Repeat the new password")).input("my-new-words-9")
    next(b for b in at.sidebar.button if b.label == said(language, "Change password")).click().run()
    assert shown(at, {"en": "The current password is not right, or the account is locked or deactivated.",
                      "pt_BR": "A senha atual não está correta, ou a conta está bloqueada ou desativada."}[language])
