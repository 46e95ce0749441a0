"""Text that people type or files hold, before it is stored or searched: one rule for every way in.

The API's schemas, the dashboard's forms and filters, the records' core functions and the loader
all ask this module, so a value is refused (or kept) the same way everywhere:

- **No control characters** (Unicode category Cc: U+0000-U+001F and U+007F-U+009F, a NUL byte, a
  tab, a line break...) and no lone surrogates (which no UTF-8 text can hold). A NUL cannot even be
  stored by PostgreSQL; the others have no place in a name, an email or a search. `CONTROL` is
  written as escapes that Python's `re`, Arrow's RE2, PostgreSQL and JSON Schema read alike.
- **Length limits**: `LIMITS` per field, on the stored (trimmed) value; the database holds the same
  limits (migration 0022) and the API's schemas declare them.
- **Searches** take the user's `%` and `_` literally (`like_pattern`).
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.messages import N_, TextError

CONTROL = r"\x00-\x1f\x7f-\x9f"           # Unicode Cc, as escapes every engine here reads
_REFUSED = re.compile(f"[{CONTROL}\ud800-\udfff]")  # + lone surrogates (only Python strings can hold them)
NO_CONTROL_PATTERN = f"^[^{CONTROL}]*$"   # what the API's schemas say of every text

# Longest stored value of each text field, in characters (migration 0022 holds the same); a
# search term longer than its field's limit cannot match and is refused too.
LIMITS = {"nome": 200, "angel": 200, "polo": 200, "email": 254}
PHONE_INPUT_MAX = 40    # a phone as typed, with its punctuation (stored: 10-11 digits)


class TextRefused(TextError, ValueError):
    """A text that cannot be taken (str() English; `text` in the user's language:
    core.messages.TextError)."""


def control_position(value: str) -> int | None:
    """The 1-based position of the first control character (or lone surrogate) in `value`; None
    when it has none."""
    found = _REFUSED.search(value)
    return found.start() + 1 if found else None


def check(value: str | None, *, what: str, limit: int | None = None) -> str | None:
    """`value` itself when it may be taken: no control character and, with a `limit`, at most
    that many characters. TextRefused otherwise, naming `what` (an N_-marked word). None passes."""
    if value is None:
        return None
    position = control_position(value)
    if position is not None:
        raise TextRefused(N_("The {what} has a control character (such as a NUL byte, a tab or a line break) "
                             "at position {position}; remove it."), what=what, position=position)
    if limit is not None and len(value) > limit:
        raise TextRefused(N_("The {what} is too long: {length} characters, at most {limit}."), what=what,
                          length=len(value), limit=limit)
    return value


def has_control(values: pa.Array) -> np.ndarray:
    """Which values of a string column hold a control character (the loader's whole-column form
    of `check`; a file's text is valid UTF-8, so it holds no surrogates)."""
    return pc.match_substring_regex(values, f"[{CONTROL}]").to_numpy(zero_copy_only=False)


def too_long(values: pa.Array, field: str) -> np.ndarray:
    """Which values of a string column are longer than LIMITS[field]."""
    return (pc.utf8_length(values).to_numpy(zero_copy_only=False) > LIMITS[field])


def storable(value: str) -> str:
    """`value` with each NUL replaced by U+FFFD, for keeping a refused line's text (PostgreSQL
    cannot store a NUL; the other control characters it keeps as they are)."""
    return value.replace("\x00", "\ufffd")


def like_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, its `%`, `_` and `\\` taken literally (the escape
    character is PostgreSQL's default, the backslash)."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
