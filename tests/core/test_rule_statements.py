"""Each rule is stated once for people (docs/indicators.md, "Definitions") and once for the code
(core/definitions.py's docstring), and the pages show it translated (EXPLAINED): the three must say
the same things. Each rule's facts are pinned below as phrases that all three contain."""
import re
from pathlib import Path

import pytest

from core import definitions
from core.definitions import EXPLAINED

ROOT = Path(__file__).resolve().parents[2]

# EXPLAINED key -> the phrases that state its rule (compared without markdown, underscores, case
# and line breaks: the docstring may say on_time where the others say on time).
PHRASES = {
    "on_time": ["visited", "on or before the deadline", "23:59"],
    "late": ["visited after the deadline day"],
    "not_visited": ["never visited and the deadline has passed", "counts against the sla"],
    "open": ["deadline today or later", "left out of the sla until the deadline passes"],
    "sla": ["sla", "on time / (on time + late + not visited)", "whose deadline falls in the period",
            "both ends included", "nothing due: no sla", "never 0%"],
    # productivity, and the business day it divides by
    "productivity": ["visits whose visit date falls in the period / business days of the period up to today",
                     "weekend visits still count", "monday to friday", "national holiday",
                     "non-working day an admin added"],
    "worked_days": ["worked days = days with at least one visit", "visits per worked day = visits / worked days"],
    "avg_slack": ["average slack", "deadline - visit date", "positive = early"],
}


def plain(text: str) -> str:
    """`text` without markdown emphasis, code quotes and underscores, lower case, one space between words."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text).replace("_", " ")).lower()


def people_statement() -> str:
    """The "Definitions" section of docs/indicators.md."""
    doc = (ROOT / "docs" / "indicators.md").read_text()
    return doc.split("\n## Definitions\n", 1)[1].split("\n## ", 1)[0]


STATEMENTS = {
    "docs/indicators.md": people_statement,
    "core/definitions.py": lambda: definitions.__doc__,
}


def test_every_definition_the_pages_show_has_its_phrases():
    assert set(PHRASES) == set(EXPLAINED)


@pytest.mark.parametrize("key", sorted(PHRASES))
def test_the_pages_say_each_rule_as_stated(key):
    shown = plain(EXPLAINED[key])
    assert [p for p in PHRASES[key] if p not in shown] == []


@pytest.mark.parametrize("where", sorted(STATEMENTS))
def test_the_statements_say_each_rule(where):
    statement = plain(STATEMENTS[where]())
    missing = {key: [p for p in phrases if p not in statement] for key, phrases in PHRASES.items()}
    assert {key: phrases for key, phrases in missing.items() if phrases} == {}
