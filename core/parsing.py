"""Reading the lines of the operation's export into typed columns, or into a reason per line.

Vectorised with Apache Arrow (pyarrow, which Streamlit already ships): a block of ~100k lines is
split, trimmed, matched and validated column by column in C++, so the cost per line is well under
a microsecond. Python touches a line only to write the reason of a rejected one. (The first
version parsed in one set-based SQL statement per block: ~10 us per line; see docs/loading.md.)

Dates: every form of DOMAIN.md, day-first unless the year comes first (`2021-06-29 09:09:30`,
`29/06/2021 10:15`, `30/062021 09:28`, `31/12/21`, `28 /06 /2021`...); two-digit years are 20YY.
A value in no known form and an impossible date (31/02/2022, 25:10) are different reasons.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core import contact, text
from core.definitions import FIRST_DAY, ID_MAX, LAST_DAY
from core.messages import N_, Text

TRIM = ' \t"'   # what is stripped around every field (spaces, tabs, stray quotes)

_YEAR_FIRST = "^[0-9]{4}-"
_ISO_RE = (r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
           r"(?:[ T]+(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.[0-9]+)?)?)?$")
_DAY_FIRST_RE = (r"^(?P<d>[0-9]{1,2})[/.-](?P<mo>[0-9]{1,2})[/.-]?(?P<y>[0-9]{4}|[0-9]{2})"
                 r"(?:[ T]+(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?)?$")
_SPACED_SEPARATOR = r" *([/.-]) *"          # `28 /06 /2021` -> `28/06/2021`
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])

# Arrow's default allocator (mimalloc) keeps the pages of freed blocks: with it a 1M-line load
# peaked ~50 MB higher (bench/load.py). The system allocator returns them (release_unused()).
pa.set_memory_pool(pa.system_memory_pool())


def quote_literal(value: str) -> str:
    """A value quoted as PostgreSQL's format('%L') does, so reasons read the same everywhere."""
    quoted = "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in value else quoted


@dataclass
class Block:
    """One parsed block: the good rows as an Arrow table, the rejected lines with reasons."""
    lines: int                                 # data lines (blank lines are not data)
    good: pa.Table
    rejects: list[tuple[int, str, str]]        # (line number, raw text, reason)

    def good_csv(self) -> bytes:
        """The good rows as CSV for COPY (FORMAT csv, no header; NULL is an unquoted empty field)."""
        out = io.BytesIO()
        pacsv.write_csv(self.good, out, pacsv.WriteOptions(include_header=False))
        return out.getvalue()

    def id_order(self) -> tuple[int | None, int | None, bool]:
        """(first id, last id, ids strictly ascending) of the good rows: when every block is
        ascending and follows the one before, the file has no duplicated id (no search needed)."""
        ids = self.good.column("id").to_numpy()
        if not len(ids):
            return None, None, True
        return int(ids[0]), int(ids[-1]), bool((np.diff(ids) > 0).all())


def _split(data: bytes, first_line: int, delimiter: str, count: int):
    """(lines, line numbers, fields per line, the first `count` fields trimmed) of the block's
    non-blank lines; a blank line takes a number but is not data. Fields a line lacks are ''.
    The lines are built on the block's own bytes (no Python string per line)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    if len(raw) and raw[-1] != 10:
        ends = np.append(ends, len(raw))                         # last line without its LF
    # Each line's bytes, LF excluded: a second offsets array would be needed, so the LF stays in
    # the value and every trim below removes it.
    offsets = np.concatenate(([0], ends + 1)).astype(np.int32)
    offsets[-1] = min(offsets[-1], len(raw))
    lines = pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    numbers = np.arange(first_line, first_line + len(lines), dtype=np.int64)
    data_line = _np(pc.not_equal(pc.utf8_trim(lines, " \n"), ""))
    if not data_line.all():
        lines, numbers = lines.filter(pa.array(data_line)), numbers[data_line]
    parts = pc.split_pattern(lines, delimiter)
    found = _np(pc.list_value_length(parts))
    values = parts.flatten()
    starts = parts.offsets.to_numpy()[:-1]
    columns = []
    for i in range(count):
        present = found > i
        picked = values.take(pa.array(np.where(present, starts + i, 0)))
        columns.append(pc.utf8_trim(pc.if_else(pa.array(present), picked, ""), TRIM + "\n"))
    return lines, numbers, found, columns


def _np(arr) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False)


def _whole_numbers(col: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """(is a whole number of 1-18 digits, its value or 0)."""
    length = _np(pc.utf8_length(col))
    ok = _np(pc.ascii_is_decimal(col)) & (length >= 1) & (length <= 18)
    values = pc.cast(pc.if_else(pa.array(ok), col, "0"), pa.int64())
    return ok, _np(values)


# The two forms nearly every value has, cut by position: a regular expression costs more than
# the rest of the line's work. Every other form goes through the general patterns.
_FIXED_FORMS = (
    # (length, separators by position, digit groups as (start, end) for y, mo, d, h, mi, s)
    (10, {2: "/", 5: "/"}, ((6, 10), (3, 5), (0, 2), None, None, None)),                 # 30/06/2021
    (16, {2: "/", 5: "/", 10: " ", 13: ":"}, ((6, 10), (3, 5), (0, 2), (11, 13), (14, 16), None)),
    (19, {2: "/", 5: "/", 10: " ", 13: ":", 16: ":"},
     ((6, 10), (3, 5), (0, 2), (11, 13), (14, 16), (17, 19))),                          # 29/06/2021 10:15:27
    (19, {4: "-", 7: "-", 10: " ", 13: ":", 16: ":"},
     ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))),                          # 2021-06-29 09:09:30
)
_PARTS = ("y", "mo", "d", "h", "mi", "s")


def _bytes(col: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """(byte offsets, UTF-8 bytes) of a string array, without copying."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + len(col) + 1]
    data = col.buffers()[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def _fixed_form(offsets: np.ndarray, data: np.ndarray, rows: np.ndarray, form) -> tuple[np.ndarray, dict]:
    """Which of `rows` (all of the form's length) have the form, and their integers by part name."""
    size, separators, groups = form
    chars = data[offsets[rows][:, None] + np.arange(size)]        # one row of bytes per value
    expected = np.full(size, -1, dtype=np.int16)                  # -1: a digit goes there
    for pos, char in separators.items():
        expected[pos] = ord(char)
    digits = chars.astype(np.int16) - 48
    wrong = np.where(expected < 0, (digits < 0) | (digits > 9), chars != expected)
    ok = wrong.view(np.uint8) @ np.ones(size, dtype=np.uint8) == 0
    values = {}
    for name, group in zip(_PARTS, groups):
        if group is not None:
            start, end = group
            values[name] = digits[:, start:end] @ (10 ** np.arange(end - start - 1, -1, -1, dtype=np.int16))
    return ok, values


def _date_parts(col: pa.StringArray) -> dict[str, np.ndarray]:
    """Integers y, mo, d, h, mi, s of each value (-1 where no known form matched), and `matched`."""
    n = len(col)
    parts = {name: np.full(n, -1, dtype=np.int64) for name in _PARTS}
    offsets, data = _bytes(col)
    length = np.diff(offsets) * _np(pc.is_valid(col))
    matched = np.zeros(n, dtype=bool)
    for form in _FIXED_FORMS:
        rows = np.flatnonzero(length == form[0])
        if len(rows):
            ok, values = _fixed_form(offsets, data, rows, form)
            for name in _PARTS:
                parts[name][rows[ok]] = values[name][ok] if name in values else 0
            matched[rows[ok]] = True
    rest = np.flatnonzero(~matched & (length > 0))
    if len(rest):
        sub = col.take(pa.array(rest))
        year_first = pc.fill_null(pc.match_substring_regex(sub, _YEAR_FIRST), False)
        iso = pc.extract_regex(sub, _ISO_RE)
        dmy = pc.extract_regex(pc.replace_substring_regex(sub, _SPACED_SEPARATOR, r"\1"), _DAY_FIRST_RE)
        found = pc.fill_null(pc.if_else(year_first, pc.is_valid(iso), pc.is_valid(dmy)), False)
        for name in _PARTS:
            text = pc.if_else(year_first, pc.struct_field(iso, name), pc.struct_field(dmy, name))
            text = pc.if_else(pc.and_(found, pc.not_equal(pc.fill_null(text, ""), "")), text, "-1")
            parts[name][rest] = _np(pc.cast(text, pa.int64()))
        ok = _np(found)
        y = parts["y"][rest]
        two_digit = ok & (y >= 0) & (y < 100) & ~_np(year_first)
        parts["y"][rest] = np.where(two_digit, y + 2000, y)
        for name in ("h", "mi", "s"):  # no time: midnight
            parts[name][rest] = np.where(ok & (parts[name][rest] < 0), 0, parts[name][rest])
        matched[rest] = ok
    parts["matched"] = matched
    return parts


def _dates(col: pa.StringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known form, real date, seconds since 1970-01-01) of each value, day-first."""
    p = _date_parts(col)
    y, mo, d = p["y"], p["mo"], p["d"]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = _DAYS_IN_MONTH[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
    real = (p["matched"] & (y >= FIRST_DAY.year) & (y <= LAST_DAY.year) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= month_days)
            & (p["h"] < 24) & (p["mi"] < 60) & (p["s"] < 60))
    # Days from civil (H. Hinnant's algorithm), vectorised; only read where `real`.
    yy = np.where(real, y, 1970) - (np.where(real, mo, 1) <= 2)
    era = np.floor_divide(yy, 400)
    yoe = yy - era * 400
    m = np.where(real, mo, 1)
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + np.where(real, d, 1) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    seconds = days * 86400 + np.where(real, p["h"] * 3600 + p["mi"] * 60 + p["s"], 0)
    return p["matched"], real, seconds


# Why a line is rejected: the English text load_rejects keeps (and the API and the CLI give) is
# written from one of these, so the dashboard reads it back (read_reason) and says it in the user's
# language. `field` is the file's column name, `value` the field as found, quoted (quote_literal).
# The most specific first: read_reason takes the first whose form a text has.
REASONS = {
    "fields": N_("expected {expected} fields separated by {delimiter}, found {found}"),
    "not_number": N_("{field} {value} is not a whole number"),
    "not_positive": N_("{field} must be greater than 0"),
    "too_large": N_("{field} {value} is larger than {limit}, the largest id"),
    "unknown_date": N_("{field} {value} is not a date in a known form (day/month/year, optionally with a time)"),
    "impossible_date": N_("{field} {value} is not a real date (read as day/month/year)"),
    "email": N_("email {value} is not an email address"),
    "phone": N_("telefone {value} must have 10 or 11 digits (DDD + number)"),
    "repeated_id": N_("id {id} appears again on line {line}; that later line was loaded"),
    "email_in_file": N_("email {email} is also on line {line} (customer {id})"),
    "email_taken": N_("email {email} already belongs to customer {id}"),
    "empty": N_("{field} is empty"),
    "control": N_("{field} has a control character (such as a NUL byte) at position {position}"),
    "too_long": N_("{field} is longer than {limit} characters"),
}


def reason(key: str, **values: object) -> str:
    """The English reason REASONS[key] says with these values (what load_rejects keeps)."""
    return str(Text(REASONS[key], **values))


def read_reason(text: str) -> Text | None:
    """The reason a stored text says, with its values; None for a text no REASONS entry wrote."""
    return Text.read(text, REASONS.values())


def _date_reason(field: str, value: str, known: bool) -> str:
    return reason("unknown_date" if not known else "impossible_date", field=field, value=quote_literal(value))


def _number_reason(field: str, value: str, is_number: bool) -> str:
    if not is_number:
        return reason("not_number", field=field, value=quote_literal(value))
    if int(value) > ID_MAX:
        return reason("too_large", field=field, value=quote_literal(value), limit=ID_MAX)
    return reason("not_positive", field=field)


def _rejects(lines: pa.StringArray, numbers: np.ndarray, good: np.ndarray,
             reason: Callable[[int], str]) -> list[tuple[int, str, str]]:
    """(line number, raw text, reason) of each line that is not good; Python runs only for these.
    A NUL in them is kept as U+FFFD (core.text.storable): PostgreSQL cannot store it."""
    return [(int(numbers[i]), text.storable(lines[i].as_py().removesuffix("\n")), text.storable(reason(i)))
            for i in np.flatnonzero(~good)]


class _TextFields:
    """The text fields of a block checked by core.text's rule (no control character, not longer
    than the field's limit) column by column; `reason(i)` says why line i failed, or None."""

    def __init__(self, **columns: tuple[pa.StringArray, int | None]):
        self.columns = columns
        self.control = {name: text.has_control(values) for name, (values, _) in columns.items()}
        self.long = {name: (text.too_long(values, name) if limit else np.zeros(len(values), bool))
                     for name, (values, limit) in columns.items()}
        self.ok = ~np.logical_or.reduce([*self.control.values(), *self.long.values()])

    def reason(self, i: int) -> str | None:
        for name, (values, limit) in self.columns.items():
            if self.control[name][i]:
                return reason("control", field=name, position=text.control_position(values[i].as_py()))
            if self.long[name][i]:
                return reason("too_long", field=name, limit=limit)
        return None


def parse_services(data: bytes, *, first_line: int, delimiter: str) -> Block:
    """Parse a block of the services file (UTF-8, whole lines, LF line ends)."""
    lines, numbers, found, (id_txt, cli_txt, angel, polo, lim_txt, vis_txt) = _split(data, first_line, delimiter, 6)
    id_ok, ids = _whole_numbers(id_txt)
    cli_ok, clis = _whole_numbers(cli_txt)
    texts = _TextFields(angel=(angel, text.LIMITS["angel"]), polo=(polo, text.LIMITS["polo"]))
    angel_ok = _np(pc.not_equal(angel, ""))
    polo_ok = _np(pc.not_equal(polo, ""))
    lim_present = _np(pc.not_equal(lim_txt, ""))
    lim_known, lim_real, lim_seconds = _dates(lim_txt)
    vis_absent = _np(pc.or_(pc.equal(vis_txt, ""), pc.equal(vis_txt, "-")))
    vis_known, vis_real, vis_seconds = _dates(pc.if_else(pa.array(vis_absent), pa.scalar(None, pa.string()), vis_txt))
    good = ((found == 6) & id_ok & (ids > 0) & (ids <= ID_MAX) & cli_ok & (clis > 0) & (clis <= ID_MAX)
            & texts.ok & angel_ok & polo_ok & lim_present
            & lim_real & (vis_absent | vis_real))

    def why(i: int) -> str:  # the first check a line fails, in this order
        if found[i] != 6:
            return reason("fields", expected=6, delimiter=quote_literal(delimiter), found=found[i])
        if not (id_ok[i] and 0 < ids[i] <= ID_MAX):
            return _number_reason("id_atendimento", id_txt[i].as_py(), id_ok[i])
        if not (cli_ok[i] and 0 < clis[i] <= ID_MAX):
            return _number_reason("id_cliente", cli_txt[i].as_py(), cli_ok[i])
        if not texts.ok[i]:
            return texts.reason(i)
        if not angel_ok[i]:
            return reason("empty", field="angel")
        if not polo_ok[i]:
            return reason("empty", field="polo")
        if not lim_present[i]:
            return reason("empty", field="data_limite")
        if not lim_real[i]:
            return _date_reason("data_limite", lim_txt[i].as_py(), lim_known[i])
        return _date_reason("data_de_atendimento", vis_txt[i].as_py(), vis_known[i])

    rejects = _rejects(lines, numbers, good, why)
    keep = pa.array(good)
    visit = pa.array(np.where(vis_absent, 0, vis_seconds), pa.int64()).cast(pa.timestamp("s"))
    table = pa.table({
        "line_no": pa.array(numbers), "id": pa.array(ids), "id_cliente": pa.array(clis), "angel": angel,
        "polo": polo,
        "data_limite": pa.array(lim_seconds // 86400, pa.int64()).cast(pa.int32()).cast(pa.date32()),
        "data_de_atendimento": pc.if_else(pa.array(vis_absent), pa.scalar(None, pa.timestamp("s")), visit),
    }).filter(keep)
    return Block(lines=len(lines), good=table, rejects=rejects)


def parse_customers(data: bytes, *, first_line: int, delimiter: str) -> Block:
    """Parse a block of the customers file (UTF-8, whole lines, LF line ends)."""
    lines, numbers, found, (id_txt, nome, email, phone_raw) = _split(data, first_line, delimiter, 4)
    id_ok, ids = _whole_numbers(id_txt)
    texts = _TextFields(nome=(nome, text.LIMITS["nome"]), email=(email, text.LIMITS["email"]),
                        telefone=(phone_raw, None))
    nome_ok = _np(pc.not_equal(nome, ""))
    email_ok, email_stored = contact.emails(email)
    phone_ok, phone_stored = contact.phones(phone_raw)
    good = (found == 4) & id_ok & (ids > 0) & (ids <= ID_MAX) & texts.ok & nome_ok & email_ok & phone_ok

    def why(i: int) -> str:  # the first check a line fails, in this order
        if found[i] != 4:
            return reason("fields", expected=4, delimiter=quote_literal(delimiter), found=found[i])
        if not (id_ok[i] and 0 < ids[i] <= ID_MAX):
            return _number_reason("id", id_txt[i].as_py(), id_ok[i])
        if not texts.ok[i]:
            return texts.reason(i)
        if not nome_ok[i]:
            return reason("empty", field="nome")
        if not email_ok[i]:
            return reason("email", value=quote_literal(email[i].as_py()))
        return reason("phone", value=quote_literal(phone_raw[i].as_py()))

    rejects = _rejects(lines, numbers, good, why)
    table = pa.table({
        "line_no": pa.array(numbers), "id": pa.array(ids), "nome": nome, "email": email_stored,
        "telefone": phone_stored,  # the national digits: 5521987654321 -> 21987654321
    }).filter(pa.array(good))
    return Block(lines=len(lines), good=table, rejects=rejects)


PARSERS = {"services": parse_services, "customers": parse_customers}
