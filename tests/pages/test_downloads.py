"""The indicator pages' downloads, byte for byte, in both languages, on the small hand data.

The bytes were pinned from the pages as they were before downloads were built on click (issue 19):
a change in how or when a page builds them must not change one byte of what a user gets (issue 21
then quoted every text field on purpose: the pins were rewritten with only quotes added). The
spy records what each download button was given; a callable (built when clicked) is called after
the run, outside it, as Streamlit calls it. An Excel file is a zip whose core.xml carries the
time it was made: every member is compared byte for byte, that one with its times blanked.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest
import sqlalchemy as sa
from streamlit.delta_generator import DeltaGenerator

from tests.core.test_indicators import insert_services
from tests.pages.apptest import by_label, logged_in, open_page


@pytest.fixture
def data(db):
    with db.begin() as conn:
        insert_services(conn)
    return db


@pytest.fixture
def downloads(monkeypatch):
    """{file name: bytes} of every download button drawn, as a click would get them."""
    seen: dict[str, object] = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        seen[kwargs["file_name"]] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)

    def clicked() -> dict[str, bytes]:
        return {name: data() if callable(data) else data for name, data in seen.items()}

    return clicked


def excel_digest(content: bytes) -> str:
    """sha256 of every member of the workbook, in order, core.xml's creation times blanked."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        for name in book.namelist():
            member = book.read(name)
            if name == "docProps/core.xml":
                member = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\1", member)
            digest.update(name.encode() + b"\0" + member + b"\0")
    return digest.hexdigest()


def open_in(db, language: str, script: str):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET language = :l WHERE username = 'admin'"), {"l": language})
    return open_page(logged_in(), script)


# (script, language): {file name: the CSV's text, or the Excel file's excel_digest}
PINNED = {
    ('sla_polo.py', 'pt_BR'): {
        'sla-by-polo.csv': (
            '"Polo";"SLA";"Vencendo";"No prazo";"Atrasado";"Não visitado";"Em aberto";"Folga média (dias)"\n'
            '"SP - CAMPINAS";"0,6666666666666666";3;2;1;0;0;"0,0"\n'
            '"RJ - SAO GONÇALO";"0,5714285714285714";7;4;1;2;0;"1,0"\n'
        ),
        'sla-by-polo.xlsx': 'd35d7dedb8caa850e6798d3f6bf57dc1756f6b31b2037c9972d318f33532091b',
        'sla-by-angel-sp-campinas.csv': (
            '"Angel";"SLA";"Vencendo";"No prazo";"Atrasado";"Não visitado";"Em aberto";"Folga média (dias)"\n'
            '"Caio Reis";"0,6666666666666666";3;2;1;0;0;"0,0"\n'
        ),
        'sla-by-angel-sp-campinas.xlsx': 'f6251d626efbe274078c6e3aa203310e21077e40acc6ec51859d91924a8a128f',
    },
    ('sla_polo.py', 'en'): {
        'sla-by-polo.csv': (
            '"Polo","SLA","Due","On time","Late","Not visited","Open","Average slack (days)"\n'
            '"SP - CAMPINAS",0.6666666666666666,3,2,1,0,0,0.0\n'
            '"RJ - SAO GONÇALO",0.5714285714285714,7,4,1,2,0,1.0\n'
        ),
        'sla-by-polo.xlsx': 'b8c8b30142a8cafaa685a3f5bc9101c0b3ee250c7847f4006035e9df54fec941',
        'sla-by-angel-sp-campinas.csv': (
            '"Angel","SLA","Due","On time","Late","Not visited","Open","Average slack (days)"\n'
            '"Caio Reis",0.6666666666666666,3,2,1,0,0,0.0\n'
        ),
        'sla-by-angel-sp-campinas.xlsx': '12b36469f9b2e6851000b48dbe67913957ddb7c4f217466085ba8817d58b9ca3',
    },
    ('sla_angel.py', 'pt_BR'): {
        'sla-by-angel.csv': (
            '"Angel";"Polo";"SLA";"Vencendo";"No prazo";"Atrasado";"Não visitado";"Em aberto";"Folga média (dias)"\n'
            '"Bruno Lima";"RJ - SAO GONÇALO";"0,6666666666666666";3;2;0;1;0;"3,0"\n'
            '"Caio Reis";"SP - CAMPINAS";"0,6666666666666666";3;2;1;0;0;"0,0"\n'
            '"Ana Souza de";"RJ - SAO GONÇALO";"0,5";4;2;1;1;0;"-0,3333333333333333"\n'
        ),
        'sla-by-angel.xlsx': 'fb9796caa5b22e61eb8be9a41f1cdf4ff58a6f2ac1c8fd8d89e0763c2dd5f649',
    },
    ('sla_angel.py', 'en'): {
        'sla-by-angel.csv': (
            '"Angel","Polo","SLA","Due","On time","Late","Not visited","Open","Average slack (days)"\n'
            '"Bruno Lima","RJ - SAO GONÇALO",0.6666666666666666,3,2,0,1,0,3.0\n'
            '"Caio Reis","SP - CAMPINAS",0.6666666666666666,3,2,1,0,0,0.0\n'
            '"Ana Souza de","RJ - SAO GONÇALO",0.5,4,2,1,1,0,-0.3333333333333333\n'
        ),
        'sla-by-angel.xlsx': '39826bff475a69f24dcfa2bba1146cf5aefdd03ef1438e8016999e2b4f093b25',
    },
    ('productivity.py', 'pt_BR'): {
        'productivity.csv': (
            '"Angel";"Polo";"Produtividade";"Atendimentos";"Dias úteis";"Dias trabalhados";"Atendimentos por dia trabalhado";"No prazo";"Folga média (dias)"\n'
            '"Ana Souza de";"RJ - SAO GONÇALO";"0,1111111111111111";3;27;2;"1,5";2;"-0,3333333333333333"\n'
            '"Caio Reis";"SP - CAMPINAS";"0,1111111111111111";3;27;3;"1,0";2;"0,0"\n'
            '"Bruno Lima";"RJ - SAO GONÇALO";"0,07407407407407407";2;27;2;"1,0";2;"3,0"\n'
        ),
        'productivity.xlsx': '37a7a77326060cb4326c7760e489a8a21c52205ca65939577a284c029157d918',
    },
    ('productivity.py', 'en'): {
        'productivity.csv': (
            '"Angel","Polo","Productivity","Visits","Business days","Worked days","Visits per worked day","On time","Average slack (days)"\n'
            '"Ana Souza de","RJ - SAO GONÇALO",0.1111111111111111,3,27,2,1.5,2,-0.3333333333333333\n'
            '"Caio Reis","SP - CAMPINAS",0.1111111111111111,3,27,3,1.0,2,0.0\n'
            '"Bruno Lima","RJ - SAO GONÇALO",0.07407407407407407,2,27,2,1.0,2,3.0\n'
        ),
        'productivity.xlsx': 'f1f6c8fffebc4d299e05e323e7b17f2fa5c24737b7055bd5b183797cfb3ed148',
    },
}


@pytest.mark.parametrize("language", ["pt_BR", "en"])
@pytest.mark.parametrize("script", ["sla_polo.py", "sla_angel.py", "productivity.py"])
def test_a_download_gives_the_same_bytes_as_before(data, downloads, script, language):
    at = open_in(data, language, script)
    if script == "sla_polo.py":  # the drill-down's downloads too
        at.selectbox(key="sla_polo_drill").set_value("SP - CAMPINAS").run()
    assert not at.exception
    got = downloads()
    expected = PINNED[(script, language)]
    assert sorted(got) == sorted(expected)
    for name, pinned in expected.items():
        if name.endswith(".csv"):
            assert got[name] == "\ufeff".encode("utf-8") + pinned.encode("utf-8"), name
        else:
            assert excel_digest(got[name]) == pinned, name
