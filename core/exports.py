"""Downloads that a spreadsheet opens safely: one place that writes CSV and Excel for every export
(the pages' download buttons, the CLI's --csv and rejected lines, and later the API).

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets; a customer name, an angel or polo name or a rejected raw line can start that way
(`=HYPERLINK("http://...","click")`). In CSV such a text gets a leading apostrophe, which spreadsheets
show as text and do not display; in xlsx every text is written as a string cell, never as a formula,
so it keeps its exact value. Numbers are left as they are.

A reader may split a CSV at another separator than the one it was written with (a `;` file opened
where `,` is the list separator, or the other way round), so a text such as `Acme;=cmd|' /C calc'!A0`
would start a cell with a formula there. In CSV every text field is quoted (a reader keeps a quoted
field whole whatever its separator), and a formula sign that follows a comma, a semicolon or a tab
inside a text gets the apostrophe too (`Acme;'=cmd...`): a reader that splits there sees text.
"""
from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, TextIO

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A separator some reader may split at (comma, semicolon, tab), then spaces or quotes, then a formula
# sign with something after it in the same cell (a lone `-`, the files' "not visited", is no formula).
_FORMULA_AFTER_SEPARATOR = re.compile(r'([,;\t])(?=[ "]*[=+\-@\r][^,;\t])')


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would read as a formula, at its start or after a separator inside
    it, with an apostrophe before the formula sign; anything else as is."""
    if not isinstance(value, str):
        return value
    value = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_csv(out: TextIO, rows: Iterable[Mapping[str, Any] | Sequence[Any]], fieldnames: Sequence[str], *,
              delimiter: str = ",", header: bool = True) -> None:
    """Write rows (dicts keyed by fieldnames, or sequences in their order) as neutralised CSV, every
    field but a number quoted."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    if header:
        writer.writerow(fieldnames)
    for row in rows:
        values = [row.get(f) for f in fieldnames] if isinstance(row, Mapping) else row
        writer.writerow([neutralise(v) for v in values])


def csv_text(rows: Iterable[Mapping[str, Any] | Sequence[Any]], fieldnames: Sequence[str], *,
             delimiter: str = ",") -> str:
    """Rows as neutralised CSV text with a header line."""
    out = io.StringIO()
    write_csv(out, rows, fieldnames, delimiter=delimiter)
    return out.getvalue()


def frame_csv(df: "pd.DataFrame", **options: Any) -> bytes:
    """A table as neutralised CSV, UTF-8 with a BOM (so spreadsheets show accents), every field but
    a number quoted (pandas also quotes a decimal written with a decimal comma: spreadsheets read a
    quoted number as a number). `options` go to pandas' to_csv (e.g. the locale's `sep` and `decimal`)."""
    texts = df.apply(lambda column: column if column.dtype.kind in "biufcmM" else column.map(neutralise))  # numbers stay numbers
    return texts.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC, **options).encode("utf-8-sig")


def frame_xlsx(df: "pd.DataFrame", sheet: str = "data") -> bytes:
    """A table as an Excel workbook in which every text is a string cell (never a formula)."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = (sheet or "data")[:31]
    ws.append([str(c) for c in df.columns])
    for row in df.itertuples(index=False):
        ws.append([_excel_value(v) for v in row])
    for cells in ws.iter_rows(min_row=1):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=..." as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _excel_value(value: Any) -> Any:
    """What openpyxl can store: missing values empty, numpy scalars as Python ones."""
    try:
        import pandas as pd

        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
    except (TypeError, ValueError):  # a list or another value pd.isna cannot judge
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value
