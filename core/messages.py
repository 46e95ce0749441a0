"""Messages a user reads, kept by core in English with their template and values.

Core never translates: it marks a text with `N_` (for the catalogs, locale/), keeps a message as a
`Text` (its English template and its values) and raises refusals as `TextError`s. str() of either is
the English text, for logs, the database, the API and the CLI; the dashboard writes it in the user's
language (dashboard.i18n.text and error_text). A quantity inside a message is a `Count`, so each
language groups its digits its own way. Write a message as a template with values, never an
f-string: tests/test_message_templates.py checks it.
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any, Iterable


def N_(message: str) -> str:
    """Marks a text a user reads for the dashboard's catalogs (locale/); core keeps it English."""
    return message


class Text:
    """A text a user reads, kept as its English template (N_-marked, str.format placeholders) and
    its values. str() is the English text, for logs, the database and the API; the dashboard writes
    it in the user's language (dashboard.i18n.text). A value may itself be a Text."""

    def __init__(self, template: str, /, **values: Any):
        self.template, self.values = template, values

    def __str__(self) -> str:
        return self.template.format(**self.values) if self.values else self.template

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Text({self.template!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.template, self.values) == (other.template, other.values)

    __hash__ = None

    @staticmethod
    def read(text: str, templates: Iterable[str]) -> Text | None:
        """The Text of an English text written from one of `templates` (the first whose form it has),
        its values as the strings they were written as; None when it has none of them. For texts
        stored in English (e.g. the reasons of rejected lines) that a user reads in their language."""
        for template in templates:
            found = _template_pattern(template).fullmatch(text)
            if found:
                return Text(template, **{k: _Written(v) for k, v in found.groupdict().items()})
        return None


class _Written(str):
    """A value read back from a text: written again as it stands, also where the template says !r."""

    def __repr__(self) -> str:
        return str.__str__(self)


_PLACEHOLDER = re.compile(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}")


@cache
def _template_pattern(template: str) -> re.Pattern:
    """A regular expression matching what `template` writes; each placeholder a named group."""
    parts, seen, at = [], set(), 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[at:m.start()]))
        name = m.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
        at = m.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


class Count(int):
    """A quantity in a Text (not an id): English writes it grouped (12,345); the dashboard writes
    it in the user's convention (12.345)."""

    def __format__(self, spec: str) -> str:
        return format(int(self), spec or ",")


class TextError(Exception):
    """An error whose message is for the user: raised as SomeError(N_(template), **values), str() is
    the English message (logs, the API, the audit) and `text` (a Text) lets the dashboard say it in
    the user's language (dashboard.i18n.error_text).

    Each error class also says what it means to the other front ends: the API's answer
    (`http_status`) and the CLI's exit code (`exit_code`); by default a refused request (422; 2).
    A subclass that means something else (a missing record, a role...) says so once."""

    http_status = 422
    exit_code = 2

    def __init__(self, template: str, /, **values: Any):
        self.text = Text(template, **values)
        self.template, self.values = template, values
        super().__init__(str(self.text))
