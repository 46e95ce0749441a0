"""Phone and email: the Customers form, the loader's vectorised parse and the users' accounts read
the same values the same way (one rule per field)."""
import pytest

from core import accounts, parsing, records
from core.accounts import Actor

PHONES = ["21987654321", "2133334444", "(21) 98765-4321", "21 98765 4321", "21.98765.4321", "21\t987654321",
          "5521987654321", "+55 (21) 98765-4321", "552133334444", "55219876543", "+5521987654321",
          "123", "219876543210", "21 9876-5432 ramal", "2198765432x", "", "   "]
EMAILS = ["ana@example.com", "Ana.Souza@example.com.br", " ana@example.com ", "ana+polo@example.com",
          "ana@example", "ana example@example.com", "ana@@example.com", "@example.com", "ana@.com.", "ana@exa mple.com",
          "ana\u00a0souza@example.com", "", "   "]


def form(clean, value):
    """What a form keeps of a value: the clean value, or 'refused'."""
    try:
        return clean(value)
    except records.RecordError:
        return "refused"


def loader(field: str, value: str):
    """What a load keeps of the same value in a customers line: the stored value, or 'refused'."""
    email, phone = (value, "") if field == "email" else ("", value)
    block = parsing.parse_customers(f"1;Ana Souza;{email};{phone}\n".encode(), first_line=1, delimiter=";")
    if block.rejects:
        return "refused"
    return block.good.column("email" if field == "email" else "telefone")[0].as_py()


def test_the_form_and_the_loader_read_phones_alike():
    assert [form(records.clean_phone, v) for v in PHONES] == [loader("telefone", v) for v in PHONES]


def test_the_form_and_the_loader_read_emails_alike():
    assert [form(records.clean_email, v) for v in EMAILS] == [loader("email", v) for v in EMAILS]


def test_a_users_email_follows_the_customers_rule(conn):
    with pytest.raises(accounts.AccountError):
        accounts.create_user(conn, actor=Actor("admin", "admin"), username="ana", password="visit-the-polos",
                             email="ana@example", rounds=4)


def test_the_database_holds_what_the_rule_stores_and_names_the_rule(conn):
    import sqlalchemy as sa

    from core import contact

    def stored(field, value) -> bool:
        try:
            with conn.begin_nested():
                conn.execute(sa.text(f"INSERT INTO customers (id, nome, {field}) VALUES (1, 'Ana', :v)"), {"v": value})
                raise RuntimeError("undo")
        except sa.exc.IntegrityError:
            return False
        except RuntimeError:
            return True

    for field, values, clean in (("email", EMAILS, contact.clean_email), ("telefone", PHONES, contact.clean_phone)):
        for value in values:
            try:
                kept = clean(value)
            except ValueError:  # refused by the rule: the database refuses the value too
                assert not stored(field, value.strip(contact.TRIM)), (field, value)
            else:
                assert stored(field, kept), (field, value)
    comments = dict(conn.execute(sa.text(
        "SELECT conname, obj_description(oid, 'pg_constraint') FROM pg_constraint "
        "WHERE conrelid = 'customers'::regclass AND contype = 'c'")).all())
    assert "core/contact.py" in comments["customers_email_check"] and "core/contact.py" in comments["customers_telefone_check"]
