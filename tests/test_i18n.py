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
    assert to_csv(table).decode("utf-8-sig") == "polo;SLA;vencendo\nRJ - SAO GONÇALO;0,75;1200\n"
    language("en")
    assert to_csv(table).decode("utf-8-sig") == "polo,SLA,due\nRJ - SAO GONÇALO,0.75,1200\n"


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
