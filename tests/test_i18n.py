"""The message catalogs and the locale formats.

Every text marked in the code (_, ngettext, N_) has a Portuguese translation with the same
placeholders; the .po files have no fuzzy or obsolete entries; numbers and dates read as Babel
writes them for each locale.
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dashboard import i18n
from tests.conftest import ROOT

LANGUAGES = ("pt_BR", "en")


def catalog(language: str):
    with (ROOT / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def used_msgids() -> set:
    """What the code marks for translation, extracted the way `make catalogs` does (babel.cfg)."""
    method_map = [("dashboard/**.py", "python"), ("pages/**.py", "python"), ("core/**.py", "python")]
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{[a-z_]*[^}]*\}", text))


def test_every_text_in_the_code_has_a_portuguese_translation():
    pt = catalog("pt_BR")
    untranslated = []
    for msgid in used_msgids():
        key = msgid if isinstance(msgid, str) else msgid[0]
        message = pt.get(key)
        strings = [] if message is None else [message.string] if isinstance(message.string, str) else list(message.string)
        if not strings or not all(strings):
            untranslated.append(msgid)
    assert untranslated == [], "run `make catalogs` and translate these in locale/pt_BR/LC_MESSAGES/messages.po"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_have_no_fuzzy_or_obsolete_entries(language):
    cat = catalog(language)
    assert [m.id for m in cat if m.id and m.fuzzy] == []
    assert list(cat.obsolete) == []
    used = {m if isinstance(m, str) else m[0] for m in used_msgids()}
    assert sorted(m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id
                  and (m.id if isinstance(m.id, str) else m.id[0]) not in used) == []


def test_translations_keep_the_placeholders():
    wrong = []
    for message in catalog("pt_BR"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if any(placeholders(s) != placeholders(ids[-1]) for s in strings if s):
            wrong.append(message.id)
    assert wrong == []


def test_the_operation_words_in_portuguese():
    pt = i18n.translations("pt_BR")
    assert [pt.gettext(w) for w in ("Productivity", "Visits", "Not visited", "Deadline", "Visit date",
                                    "Customers", "Upload", "Late")] == [
        "Produtividade", "Atendimentos", "Não visitado", "Prazo", "Data de atendimento", "Clientes",
        "Carga de arquivos", "Atrasado"]
    assert pt.gettext("on time") == "no prazo" and pt.gettext("open") == "em aberto"
    assert pt.gettext("business days") == "dias úteis"


@pytest.fixture
def language(monkeypatch):
    def use(code: str) -> None:
        monkeypatch.setattr(i18n, "current", lambda: code)
    return use


def test_portuguese_formats(language):
    language("pt_BR")
    assert i18n.number(1_048_575) == "1.048.575"
    assert i18n.percent(0.85) == "85,0%"
    assert i18n.decimal(0.65) == "0,65"
    assert i18n.day(date(2021, 6, 26)) == "26/06/2021"
    assert i18n.date_range(date(2022, 3, 1), date(2022, 3, 31)) == "01/03/2022\u2009–\u200931/03/2022"  # thin spaces
    assert i18n.moment(datetime(2021, 6, 26, 9, 5)) == "26/06/2021 09:05"
    assert i18n.date_input_format() == "DD/MM/YYYY"
    assert i18n.d3_date_format() == "%d/%m/%Y"
    assert i18n.plotly_separators() == ",."
    assert i18n.csv_options() == {"sep": ";", "decimal": ","}
    assert i18n.percent(None) == "-" and i18n.number(5, signed=True) == "+5"


def test_english_formats(language):
    language("en")
    assert i18n.number(1_048_575) == "1,048,575"
    assert i18n.percent(0.85) == "85.0%"
    assert i18n.decimal(0.65) == "0.65"
    assert i18n.day(date(2021, 6, 26)) == "6/26/2021"  # Babel's numeric English date (month first)
    assert i18n.date_input_format() == "MM/DD/YYYY"
    assert i18n.plotly_separators() == ".,"
    assert i18n.csv_options() == {"sep": ",", "decimal": "."}


def test_csv_download_follows_the_language(language):
    import pandas as pd

    from dashboard.ui import to_csv

    table = pd.DataFrame({"polo": ["RJ - SAO GONÇALO"], "sla": [0.75], "total": [1200]})
    language("pt_BR")
    # every text quoted (core.exports); a decimal comma comes quoted too, spreadsheets read it as a number
    assert to_csv(table).decode("utf-8-sig") == '"Polo";"SLA";"Vencendo"\n"RJ - SAO GONÇALO";"0,75";1200\n'
    language("en")
    assert to_csv(table).decode("utf-8-sig") == '"Polo","SLA","Due"\n"RJ - SAO GONÇALO",0.75,1200\n'


# --- what core says, in the user's language ---------------------------------------------------

def refusal(raise_it) -> Exception:
    with pytest.raises(Exception) as raised:
        raise_it()
    return raised.value


def test_core_errors_in_the_users_language_and_english_in_core(language, tmp_path):
    from core import accounts, calendar, loading

    short = refusal(lambda: accounts.check_password_rules("short"))
    denied = refusal(lambda: accounts.require(None, "admin"))
    username = refusal(lambda: accounts._normalise_username("a b"))
    path = tmp_path / "c.csv"
    path.write_text("id_atendimento;id_cliente;angel;polo;data_limite;data_de_atendimento\n1;2;a;b;01/01/2022;-\n")
    refused = refusal(lambda: loading.inspect_file(path, kind="customers"))
    day_off = calendar.CalendarError(calendar.N_("{day} is already a non-working day."), day=date(2022, 3, 1))
    language("pt_BR")
    assert [i18n.error_text(e) for e in (short, denied, username, refused, day_off)] == [
        "A senha precisa de pelo menos 8 caracteres.",
        "Esta ação precisa do papel admin.",
        "O nome de usuário deve ter 3 a 32 caracteres: letras minúsculas, dígitos, ponto, hífen ou sublinhado.",
        "c.csv parece ser o arquivo de atendimentos (bd_desafio.csv), não o arquivo de clientes "
        "(customers_data.csv). Esperado: o arquivo de clientes (customers_data.csv): colunas id;nome;email;telefone.",
        "01/03/2022 já é um dia sem expediente.",
    ]
    language("en")
    assert i18n.error_text(day_off) == "3/1/2022 is already a non-working day."  # Babel's English date
    assert i18n.error_text(short) == str(short) == "The password needs at least 8 characters."
    assert str(day_off) == "2022-03-01 is already a non-working day."  # logs, the API: ISO
    assert i18n.error_text(ValueError("plain")) == "plain"


def test_stored_reasons_and_load_messages_in_the_users_language(language):
    from core import loading, parsing

    reasons = parsing.REASONS.values()
    language("pt_BR")
    assert i18n.stored_text("data_limite '31/02/2021' is not a real date (read as day/month/year)", reasons) == \
        "data_limite '31/02/2021' não é uma data que exista (lida como dia/mês/ano)"
    assert i18n.stored_text("email 'a@b.co' is also on line 2 (customer 1)", reasons) == \
        "o email 'a@b.co' também está na linha 2 (cliente 1)"
    assert i18n.stored_text("id_cliente 'x is empty' is not a whole number", reasons) == \
        "id_cliente 'x is empty' não é um número inteiro"
    assert i18n.stored_text("a reason from an older version", reasons) == "a reason from an older version"
    assert i18n.stored_text("The load stopped: disk full", loading.JOB_MESSAGES) == "A carga parou: disk full"
    assert i18n.stored_text(None, reasons) is None
    language("en")
    assert i18n.stored_text("angel is empty", reasons) == "angel is empty"


def test_what_a_load_is_doing_in_the_users_language(language):
    from core.loading import LoadJob

    job = LoadJob.__new__(LoadJob)
    object.__setattr__(job, "status", "running")
    object.__setattr__(job, "phase", "staging")
    object.__setattr__(job, "step", None)
    object.__setattr__(job, "rows_read", 1_048_575)
    language("pt_BR")
    assert i18n.text(job.activity) == "1.048.575 linhas lidas"
    assert job.doing == "1,048,575 lines read"  # the CLI and the API
    object.__setattr__(job, "phase", "writing")
    object.__setattr__(job, "step", "rebuilding the indicator rollups")
    assert i18n.text(job.activity) == "gravando no banco de dados: reconstruindo os agregados dos indicadores"


@pytest.mark.parametrize("locale, header, expected", [
    ("pt-BR", None, "pt_BR"),
    ("en-US", "pt-BR,pt;q=0.9", "en"),              # the browser's own language first
    (None, "pt-BR,pt;q=0.9,en-US;q=0.8", "pt_BR"),
    (None, "fr-FR,fr;q=0.9,en;q=0.8,pt;q=0.7", "en"),  # the first of ours by preference
    (None, "en;q=0.3, pt-PT;q=0.9", "pt_BR"),       # q decides, not the order; any Portuguese
    ("de-DE", "de, fr;q=0.5", None),                 # none of ours: the LANGUAGE setting
    (None, "pt;q=0, en;q=0", None),                  # q=0: not wanted
    (None, None, None),
    ("", "", None),
])
def test_the_login_page_language_from_the_browser(locale, header, expected):
    assert i18n.language_asked(locale, header) == expected


def test_tables_write_numbers_dates_and_words_in_the_users_language(language):
    import pandas as pd

    from dashboard import ui

    table = pd.DataFrame({"load": [1_048_575], "data_limite": [date(2021, 6, 26)], "visit": [pd.NaT],
                          "when": [datetime(2021, 6, 26, 9, 5, 7)], "status": ["done"], "MB": [1.5]})
    from tests.pages.test_formats import shown  # the texts st.dataframe is sent

    def row() -> str:
        return "|".join(shown(ui.localized(table, seconds=("when",), words={"status": ui.LOAD_STATUSES})).iloc[0])

    language("pt_BR")
    assert row() == "1.048.575|26/06/2021|-|26/06/2021 09:05:07|concluída|1,50"
    assert table.loc[0, "load"] == 1_048_575  # the data stays numbers: sorting sees numbers
    language("en")
    assert row() == "1,048,575|6/26/2021|-|6/26/2021 9:05:07\u202fAM|done|1.50"


def test_rejected_lines_download_with_headings_in_the_users_language(language):
    import pandas as pd

    from dashboard.ui import to_csv

    rejects = pd.DataFrame({"line": [4], "reason": ["angel está vazio"], "raw": ["3;11;;SP;31/02/2021;-"]})
    language("pt_BR")
    assert to_csv(rejects).decode("utf-8-sig") == (
        '"Linha";"Motivo";"Linha como lida"\n4;"angel está vazio";"3;11;;SP;31/02/2021;-"\n')

