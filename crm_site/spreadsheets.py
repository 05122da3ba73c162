"""Reading an uploaded table (.xlsx or .csv) within bounds, for every import.

A file's size says little about what it holds: an .xlsx is a zip, and 330 KB of it can
inflate to a million rows. So before a sheet is read the zip's members are added up by
their uncompressed size, the sheet's declared dimension is checked, and rows are then
streamed (openpyxl read-only) and counted, stopping at the first row or cell past the
limit. Nothing of a file over a limit is kept; the message names the limit.

Limits are settings: IMPORT_MAX_ROWS (data rows, header not counted), IMPORT_MAX_CELLS
(rows times columns) and IMPORT_MAX_UNZIPPED_MB (an .xlsx's members together).
"""

import csv
import io
import zipfile

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_CELLS = 1_000_000
DEFAULT_MAX_UNZIPPED_MB = 100


def max_rows():
    return getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


def max_cells():
    return getattr(settings, "IMPORT_MAX_CELLS", DEFAULT_MAX_CELLS)


def max_unzipped_bytes():
    return getattr(settings, "IMPORT_MAX_UNZIPPED_MB", DEFAULT_MAX_UNZIPPED_MB) * 1024 * 1024


def _too_many_rows(limit):
    return ValidationError(_("文件行数超过上限：最多 %(limit)s 行数据。") % {"limit": f"{limit:,}"},
                           code="too_many_rows")


def _too_many_cells(limit):
    return ValidationError(_("文件单元格数超过上限：最多 %(limit)s 个单元格（行数×列数）。")
                           % {"limit": f"{limit:,}"}, code="too_many_cells")


class _Counter:
    """Counts rows and cells as they stream by; raises at the first one past a limit."""

    def __init__(self, rows, cells):
        self.rows_limit, self.cells_limit = rows, cells
        self.rows = self.cells = 0

    def add(self, row):
        self.rows += 1
        self.cells += len(row)
        if self.rows > self.rows_limit + 1:  # the header row is not a data row
            raise _too_many_rows(self.rows_limit)
        if self.cells > self.cells_limit:
            raise _too_many_cells(self.cells_limit)
        return row


def read_table(content: bytes, filename: str, *, rows=None, cells=None) -> tablib.Dataset:
    """The first sheet (or the CSV) as a Dataset whose headers are the first row. Raises
    ValidationError with a readable message for an unreadable file or one over a limit."""
    counter = _Counter(rows or max_rows(), cells or max_cells())
    lower = (filename or "").lower()
    if lower.endswith(".xlsx"):
        table = _xlsx_rows(content, counter)
    elif lower.endswith(".csv"):
        table = _csv_rows(content, counter)
    else:
        raise ValidationError(_("只接受 .xlsx 或 .csv 文件。"), code="file_type")
    if not table:
        return tablib.Dataset()
    headers, width = list(table[0]), len(table[0])
    body = [tuple(row[:width]) + (None,) * (width - len(row)) for row in table[1:]]
    return tablib.Dataset(*body, headers=headers)


def _xlsx_rows(content, counter):
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ValidationError(_("不是有效的 Excel (.xlsx) 文件。"), code="file_type") from error
    # Declared sizes bound what zipfile will inflate (it stops at file_size).
    unzipped = sum(member.file_size for member in archive.infolist())
    if unzipped > max_unzipped_bytes():
        raise ValidationError(_("Excel 文件解压后超过上限 %(limit)s MB。")
                              % {"limit": max_unzipped_bytes() // (1024 * 1024)}, code="unzipped")
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - any parser failure is a bad file
        raise ValidationError(_("不是有效的 Excel (.xlsx) 文件。"), code="file_type") from error
    try:
        sheet = book.active
        declared_rows, declared_columns = sheet.max_row, sheet.max_column
        if declared_rows and declared_rows - 1 > counter.rows_limit:
            raise _too_many_rows(counter.rows_limit)
        if declared_rows and declared_columns and \
                declared_rows * declared_columns > counter.cells_limit:
            raise _too_many_cells(counter.cells_limit)
        return [counter.add(row) for row in sheet.iter_rows(values_only=True)]
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001
        raise ValidationError(_("无法读取 Excel 文件：%(error)s") % {"error": error},
                              code="file_type") from error
    finally:
        book.close()


def _csv_rows(content, counter):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("无法识别CSV文件的编码，请另存为UTF-8。"), code="encoding")
    try:
        return [counter.add(row) for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error as error:
        raise ValidationError(_("无法读取 CSV 文件：%(error)s") % {"error": error},
                              code="file_type") from error
