"""The dashboard's language: gettext catalogs (locale/<lang>/LC_MESSAGES/messages.po) and Babel formats.

The language of a run: the one chosen in the session (the logged-in user's stored choice, put there
by the entrypoint), else the LANGUAGE setting; before login, the browser's language when it is one
of ours. `_()` and `ngettext()` translate with it; `number`, `percent`, `decimal`, `day`,
`date_range`... format with Babel for it (never hand-written separators). Logs and the database
stay English: only what a user reads goes through here.
"""
from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import streamlit as st
from babel import Locale
from babel.dates import format_interval, format_skeleton, format_time, match_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol

from core.config import LANGUAGES
from core.messages import Count, Text

if TYPE_CHECKING:
    import pandas as pd

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
STATE = "i18n_language"
DATE_SKELETON = "yMMdd"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (make's set-up compiles it; a missing .mo is compiled here
    from the .po in memory, so a fresh checkout run by pytest alone still speaks Portuguese)."""
    mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language_asked(locale: str | None, accept_language: str | None) -> str | None:
    """One of ours that a browser asks for, or None: its locale (navigator.language, e.g. 'pt-BR')
    first, else the languages of its Accept-Language header in order of preference (q). Any
    Portuguese is pt_BR, any English is en."""
    asked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag.strip() and q > 0:
            asked.append((-q, i, tag.strip()))
    for tag in [locale or ""] + [tag for *_order, tag in sorted(asked)]:
        base = tag.replace("-", "_").split("_")[0].lower()
        if base == "pt":
            return "pt_BR"
        if base == "en":
            return "en"
    return None


def browser_language() -> str | None:
    """One of ours that this session's browser asks for (language_asked), or None."""
    try:
        return language_asked(getattr(st.context, "locale", None), st.context.headers.get("Accept-Language"))
    except Exception:  # noqa: BLE001 - no context outside a browser session (AppTest, bare mode)
        return None


def use(language: str | None) -> None:
    """Make `language` the language of this session from now on (unknown values are ignored)."""
    if language in LANGUAGES:
        st.session_state[STATE] = language


def forget() -> None:
    st.session_state.pop(STATE, None)


def current() -> str:
    language = st.session_state.get(STATE)
    if language in LANGUAGES:
        return language
    from dashboard.common import settings

    return settings().language


def _(message: str) -> str:
    """`message` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined; `_()` translates it where it is shown."""
    return message


def text(value: Text) -> str:
    """A core text (core.messages.Text) in the current language: its template translated, its
    values that are Texts too, values named `what` (N_-marked words), dates as `day` and counts
    (core.messages.Count) as `number` write them."""
    def shown(name: str, v: object) -> object:
        if isinstance(v, Text):
            return text(v)
        if isinstance(v, Count):
            return number(v)
        if name == "what" and isinstance(v, str):
            return _(v)
        if isinstance(v, date) and not isinstance(v, datetime):
            return day(v)
        return v

    values = {name: shown(name, v) for name, v in value.values.items()}
    return _(value.template).format(**values) if values else _(value.template)


def error_text(exc: Exception) -> str:
    """The message of an error a user reads, in their language when core gave its text
    (core.messages.TextError: RecordError, AccountError, LoadError...); otherwise its English text."""
    found = getattr(exc, "text", None)
    return text(found) if isinstance(found, Text) else str(exc)


def stored_text(stored: str | None, templates: Iterable[str]) -> str | None:
    """A text the database keeps in English, written from one of `templates` (e.g. a rejected
    line's reason, core.parsing.REASONS), in the current language; as stored when none wrote it."""
    if not stored:
        return stored
    found = Text.read(stored, templates)
    return stored if found is None else text(found)


# --- formats ------------------------------------------------------------------------------------

@cache
def _number_symbols(language: str) -> tuple[str, str, str, str]:
    """The locale's (group, decimal, minus, percent) signs, as Babel writes numbers with them."""
    symbols = Locale.parse(language).number_symbols["latn"]
    return get_group_symbol(language), get_decimal_symbol(language), symbols["minusSign"], symbols["percentSign"]


_WRITTEN: dict[tuple, str] = {}  # fixed()'s texts, by (value, digits, language, percent)
_WRITTEN_MAX = 200_000


def fixed(value: int | float, digits: int, language: str, *, percent: bool = False) -> str:
    """`value` grouped by thousands with `digits` decimals (`percent`: times 100, then the percent
    sign) in `language`: exactly what Babel's format_decimal (format_percent) writes with the
    pattern #,##0.00 (#,##0.0%), without its per-call parsing. Like Babel, the value's shortest
    text is rounded half to even (0.125 -> 0,12; 2.675 -> 2,68), and a negative value that rounds
    to zero keeps its sign (-0,00). Texts are remembered (the same ratios and counts come back run
    after run), except zero's (0.0 and -0.0 are equal keys but not the same text) and NaN's."""
    key = (value, digits, language, percent)
    kept = bool(value) and value == value  # not zero, not NaN (NaN is no key)
    found = _WRITTEN.get(key) if kept else None
    if found is None:
        found = _fixed(value, digits, language, percent)
        if kept:
            if len(_WRITTEN) >= _WRITTEN_MAX:
                _WRITTEN.clear()
            _WRITTEN[key] = found
    return found


def _fixed(value: int | float, digits: int, language: str, percent: bool) -> str:
    number = Decimal(str(value))
    if not number.is_finite():  # NaN, inf: Babel's words for them
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + ("%" if percent else "")
        return (format_percent if percent else format_decimal)(value, pattern, locale=language)
    if percent:
        number = number.scaleb(2)
    group, point, minus, percent_sign = _number_symbols(language)
    text = format(abs(number).quantize(Decimal(1).scaleb(-digits)), ",f")
    return ((minus if number.is_signed() else "") + text.translate({ord(","): group, ord("."): point})
            + (percent_sign if percent else ""))


def number(value: int | float | None, *, signed: bool = False) -> str:
    """A whole number with the locale's grouping: 1.048.575 (pt_BR), 1,048,575 (en)."""
    if value is None:
        return "-"
    text = fixed(value, 0, current())
    return ("+" + text) if signed and value >= 0 else text


def decimal(value: float | None, digits: int = 2, *, signed: bool = False) -> str:
    """A decimal number: 0,65 (pt_BR), 0.65 (en)."""
    if value is None:
        return "-"
    text = fixed(value, digits, current())
    return ("+" + text) if signed and value >= 0 else text


def percent(value: float | None, digits: int = 1) -> str:
    """A ratio as a percentage: 85,0% (pt_BR), 85.0% (en); None (no SLA) is `-`."""
    if value is None:
        return "-"
    return fixed(value, digits, current(), percent=True)


def column_texts(values: "pd.Series", write: Callable[[object], str]) -> "pd.Series":
    """`write` of every value of a column, called once per distinct value (a column of counts or
    dates has few), a missing value written `-`."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([write(v) for v in distinct] + ["-"], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def day(value: date | None) -> str:
    """A date: 26/06/2021 (pt_BR), 6/26/2021 (en)."""
    return "-" if value is None else format_skeleton(DATE_SKELETON, value, locale=current())


def moment(value: datetime | None, *, seconds: bool = False) -> str:
    """A date and time to the minute (or the second): 26/06/2021 09:05 (pt_BR), 6/26/2021 9:05 AM (en)."""
    if value is None:
        return "-"
    return f"{day(value)} {format_time(value, 'medium' if seconds else 'short', locale=current())}"


def clock(value: datetime) -> str:
    """A time of day to the second in the current language: 22:55:58 (pt_BR), 10:55:58 PM (en)."""
    return format_time(value, "medium", locale=current())


def date_range(start: date, end: date) -> str:
    """01/03/2022 – 31/03/2022 (pt_BR)."""
    if start == end:
        return day(start)
    return format_interval(start, end, DATE_SKELETON, locale=current())


def _date_pattern() -> str:
    """The locale's CLDR pattern of a numeric date, e.g. dd/MM/y."""
    locale = Locale.parse(current())
    return locale.datetime_skeletons[match_skeleton(DATE_SKELETON, locale.datetime_skeletons)].pattern


def date_input_format() -> str:
    """st.date_input's format for the locale: DD/MM/YYYY (pt_BR), MM/DD/YYYY (en)."""
    pattern = _date_pattern()
    sep = next((c for c in pattern if not c.isalpha()), "/")
    order = [c for c in dict.fromkeys(c for c in pattern if c.isalpha())]
    parts = {"d": "DD", "M": "MM", "y": "YYYY"}
    return sep.join(parts[c] for c in order if c in parts)


def d3_date_format() -> str:
    """The d3 (Plotly) date format of the locale's numeric date: %d/%m/%Y (pt_BR)."""
    return date_input_format().replace("DD", "%d").replace("MM", "%m").replace("YYYY", "%Y")


def plotly_separators() -> str:
    """Plotly's `separators` (decimal then thousands) for the locale: ',.' (pt_BR), '.,' (en)."""
    return get_decimal_symbol(current()) + get_group_symbol(current())


def csv_options() -> dict:
    """to_csv keywords of the locale's spreadsheet convention: ';' and decimal comma where the
    decimal mark is a comma (so Excel in Brazil opens it in columns), ',' and a point otherwise."""
    comma = get_decimal_symbol(current()) == ","
    return {"sep": ";" if comma else ",", "decimal": "," if comma else "."}
