"""Every CSV and Excel file the site hands out is written through these helpers, so that a
cell can never run as a formula when the file is opened in Excel, WPS or LibreOffice.

A text cell that starts with = + - @, a tab or a carriage return is prefixed with a single
quote (OWASP "CSV injection"); numbers, dates and booleans are written as they are.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """One cell value, neutralised: text starting like a formula gets a leading quote."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def safe_row(values):
    return [safe_cell(value) for value in values]


class SafeCsvWriter:
    """csv.writer whose rows are neutralised first."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, values):
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_response(filename):
    """An attachment response with a UTF-8 byte-order mark (Excel opens Chinese text right)
    and a safe writer on it: `response, writer = csv_response("x.csv")`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    return response, SafeCsvWriter(response)


def csv_text(rows):
    """Rows as CSV text (neutralised), for files built in memory."""
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerows(rows)
    return buffer.getvalue()


def sheet_append(sheet, values):
    """openpyxl worksheet.append with every cell neutralised."""
    sheet.append(safe_row(values))


def xlsx_response(content, filename):
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
