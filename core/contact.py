"""A customer's phone and email (and a user's email): one rule per field.

The rule is written once, as patterns every engine reads alike (the whitespace they exclude is
spelt out, not `\\s`, whose meaning differs between Python, Arrow's RE2 and PostgreSQL), and run
by Arrow: `phones`/`emails` read a whole column (the loader, vectorised), `clean_phone`/
`clean_email` read one value (the forms) by running the same code on a column of one, so a value
is kept or refused, and stored, the same way everywhere. The database's CHECK constraints on
customers.telefone and customers.email hold the stored forms (migration 0015 names this module).

- Phone: 10 or 11 digits (DDD + number), optionally after Brazil's country code 55; spaces,
  brackets, dots, dashes and a plus are noise. Stored as the national digits: '+55 (21) 98765-4321'
  -> '21987654321'.
- Email: something@domain.tld, no @ or whitespace in the parts; stored as given, trimmed.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.messages import N_, TextError

# Unicode whitespace (what Python's str.split() splits on), written out.
SPACES = " \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TRIM = ' \t\n"'   # stripped around a value first (the loader's fields: spaces, tabs, stray quotes)

EMAIL_PATTERN = f"^[^@{SPACES}]+@[^@{SPACES}]+[.][^@{SPACES}]+$"
PHONE_NOISE = f"[{SPACES}().+-]"
PHONE_PATTERN = "^(55)?[0-9]{10,11}$"      # after the noise is removed
STORED_PHONE_PATTERN = "^[0-9]{10,11}$"    # what customers.telefone holds


class ContactError(TextError, ValueError):
    """A phone or email that cannot be stored (str() English; `text` in the user's language:
    core.messages.TextError)."""


def _np(values) -> np.ndarray:
    return values.to_numpy(zero_copy_only=False)


def trimmed(values: pa.Array) -> pa.Array:
    return pc.utf8_trim(values, TRIM)


def phones(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(ok, stored value) of each phone: ok is False only for a phone given but not valid; the
    stored value is the national digits, or null when none was given."""
    values = trimmed(values)
    given = _np(pc.not_equal(values, ""))
    digits = pc.replace_substring_regex(values, PHONE_NOISE, "")
    ok = ~given | _np(pc.match_substring_regex(digits, PHONE_PATTERN))
    national = pc.if_else(pc.greater_equal(pc.utf8_length(digits), 12), pc.utf8_slice_codeunits(digits, 2), digits)
    return ok, pc.if_else(pa.array(given), national, pa.scalar(None, pa.string()))


def emails(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(ok, stored value) of each email, as phones()."""
    values = trimmed(values)
    given = _np(pc.not_equal(values, ""))
    ok = ~given | _np(pc.match_substring_regex(values, EMAIL_PATTERN))
    return ok, pc.if_else(pa.array(given), values, pa.scalar(None, pa.string()))


def clean_phone(value: object) -> str | None:
    """The stored form of one phone ('(21) 99876-5432' -> '21998765432'); None when empty;
    ContactError when it is not a phone."""
    text = "" if value is None else str(value)
    ok, stored = phones(pa.array([text], pa.string()))
    if not ok[0]:  # refused by the rule above; the message only says why in words
        shown = text.strip(TRIM)
        digits = re.sub(PHONE_NOISE, "", shown)
        if not digits.isdigit():
            raise ContactError(N_("The phone {text!r} has characters other than digits."), text=shown)
        raise ContactError(N_("The phone must have 10 or 11 digits (area code + number); {text!r} has {n}."),
                           text=shown, n=len(digits))
    return stored[0].as_py()


def clean_email(value: object) -> str | None:
    """The stored form of one email; None when empty; ContactError when it is not an address."""
    text = "" if value is None else str(value)
    ok, stored = emails(pa.array([text], pa.string()))
    if not ok[0]:
        raise ContactError(N_("The email {email!r} is not a valid address."), email=text.strip(TRIM))
    return stored[0].as_py()
