"""Tables as files: a CSV that Excel opens in Chinese and an Excel workbook, for every export of figures (event
statistics, application statistics).  ``columns`` are ``(header, kind)``, kind one of ``XLSX_FORMATS``; the last
row is the totals."""

from __future__ import annotations

import csv
import unicodedata
from io import BytesIO

from django.http import HttpResponse

XLSX_FORMATS = {"text": "@", "count": "0", "rate": "0.0%", "hours": "0.0", "area": "0.0"}


def table_csv(columns: list[tuple[str, str]], rows: list[list], filename: str) -> HttpResponse:
    """A table as a CSV attachment Excel opens in Chinese: ``columns`` are (header, kind) with kind one of
    ``XLSX_FORMATS``; the last row is the totals."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # Excel reads a CSV as UTF-8 (Chinese names) only after a byte-order mark
    writer = csv.writer(response)
    writer.writerow([header for header, _kind in columns])
    for cells in rows:
        writer.writerow([cell_text(value, kind) for value, (_header, kind) in zip(cells, columns, strict=True)])
    return attachment(response, filename)


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table_xlsx(title: str, columns: list[tuple[str, str]], rows: list[list], filename: str) -> HttpResponse:
    """A table as an Excel attachment: header and totals (the last row) in bold, numbers formatted by kind,
    columns as wide as their Chinese text."""
    # openpyxl loads on the first export, not in every process that loads the URLs.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([header for header, _kind in columns])
    for cells in rows:
        sheet.append(cells)
    for cell in (*sheet[1], *sheet[sheet.max_row]):
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, (header, kind) in enumerate(columns, start=1):
        cells = [cell for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]
        for cell in cells:
            cell.number_format = XLSX_FORMATS[kind]
        widest = max([_width(header), *(_width(cell_text(cell.value, kind)) for cell in cells)])
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, 60)
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return attachment(response, filename)


def attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def cell_text(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return f"{value:.1f}" if kind in ("hours", "area") else str(value)
