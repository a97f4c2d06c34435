"""CSV exports that spreadsheets cannot turn into formulas (CSV injection / formula injection).

A cell starting with ``= + - @``, a tab or a carriage return may be run as a formula by Excel,
LibreOffice or WPS when the file is opened. Such cells get a leading apostrophe, which the
spreadsheet shows as text. Numbers are written as numbers (a negative number stays a number).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """One cell as text, with a leading apostrophe if a spreadsheet could read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def to_csv(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A whole CSV document (UTF-8 with BOM so Excel opens Chinese text correctly)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buf.getvalue()
