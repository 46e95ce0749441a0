"""Downloads that a spreadsheet opens safely: one place that writes CSV and Excel for every export
(the pages' download buttons, the CLI's --csv and rejected lines, and later the API).

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets; a customer name, an angel or polo name or a rejected raw line can start that way
(`=HYPERLINK("http://...","click")`). In CSV such a text gets a leading apostrophe, which spreadsheets
show as text and do not display; in xlsx every text is written as a string cell, never as a formula,
so it keeps its exact value. Numbers, dates and empty cells are left as they are.
"""
from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, TextIO

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would read as a formula, prefixed with an apostrophe; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(out: TextIO, rows: Iterable[Mapping[str, Any] | Sequence[Any]], fieldnames: Sequence[str], *,
              delimiter: str = ",", header: bool = True) -> None:
    """Write rows (dicts keyed by fieldnames, or sequences in their order) as neutralised CSV."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
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
    """A table as neutralised CSV, UTF-8 with a BOM (so spreadsheets show accents). `options` go to
    pandas' to_csv (e.g. the locale's `sep` and `decimal`)."""
    texts = df.apply(lambda column: column if column.dtype.kind in "biufcmM" else column.map(neutralise))  # numbers stay numbers
    return texts.to_csv(index=False, lineterminator="\n", **options).encode("utf-8-sig")


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
