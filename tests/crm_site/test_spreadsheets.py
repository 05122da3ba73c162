"""Uploaded tables are bounded before they are read: an .xlsx of a few hundred KB that
inflates to a million rows is refused with a message naming the limit, whether its
sheet declares its size or hides it, and whatever the importer."""

import io
import re
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError

from crm_site.spreadsheets import read_table


def bomb(rows=1_000_000, columns=1, declare=True, header=("姓名",)):
    """A real .xlsx whose first sheet holds `rows` rows of `columns` cells; with
    declare=False its <dimension> is left out, so only streaming can count."""
    book = openpyxl.Workbook()
    book.active.append(list(header))
    out = io.BytesIO()
    book.save(out)
    letters = [openpyxl.utils.get_column_letter(n + 1) for n in range(columns)]
    # Row and cell references are optional in the format: identical rows compress to nothing.
    body = ("<row>" + '<c t="n"><v>1</v></c>' * columns + "</row>") * rows
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                xml = re.sub(r"<dimension[^>]*/>",
                             f'<dimension ref="A1:{letters[-1]}{rows + 1}"/>' if declare else "",
                             xml)
                xml = re.sub(r"</row>", "</row>" + body, xml, count=1)
                data = xml.encode()
            target.writestr(member.filename, data)
    return result.getvalue()


def test_a_small_xlsx_inflating_to_a_million_rows_is_refused_from_its_dimension(settings):
    content = bomb()
    assert len(content) < 400 * 1024  # far below every upload size limit
    with pytest.raises(ValidationError) as error:
        read_table(content, "customers.xlsx")
    assert "20,000" in error.value.messages[0] and "行" in error.value.messages[0]


def test_a_sheet_hiding_its_size_is_stopped_while_streaming(settings):
    settings.IMPORT_MAX_ROWS = 1000
    with pytest.raises(ValidationError) as error:
        read_table(bomb(rows=5000, declare=False), "customers.xlsx")
    assert "1,000" in error.value.messages[0]


def test_wide_rows_are_bounded_by_cells(settings):
    settings.IMPORT_MAX_CELLS = 10_000
    with pytest.raises(ValidationError) as error:
        read_table(bomb(rows=500, columns=50, declare=False), "wide.xlsx")
    assert "10,000" in error.value.messages[0] and "单元格" in error.value.messages[0]
    with pytest.raises(ValidationError):
        read_table(bomb(rows=500, columns=50), "wide.xlsx")  # declared: refused at once


def test_members_inflating_past_the_limit_are_refused_before_parsing(settings):
    settings.IMPORT_MAX_UNZIPPED_MB = 1
    with pytest.raises(ValidationError) as error:
        read_table(bomb(rows=60_000), "customers.xlsx")
    assert "1 MB" in error.value.messages[0] and "解压" in error.value.messages[0]


def test_a_csv_with_too_many_lines_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 100
    content = ("姓名\n" + "张三\n" * 101).encode()
    with pytest.raises(ValidationError) as error:
        read_table(content, "customers.csv")
    assert "100" in error.value.messages[0]
    assert len(read_table(("姓名\n" + "张三\n" * 100).encode(), "customers.csv")) == 100


def test_a_file_within_the_limits_reads_as_a_table():
    table = read_table(bomb(rows=3, columns=2, header=("姓名", "手机")), "ok.xlsx")
    assert table.headers == ["姓名", "手机"] and len(table) == 3
    assert table[0] == (1, 1)


@pytest.mark.parametrize(("content", "name"), [(b"PK\x03\x04 not a zip", "x.xlsx"),
                                               (b"<html>", "x.xlsx"), (b"a,b", "x.pdf")])
def test_unreadable_files_are_a_clear_error(content, name):
    with pytest.raises(ValidationError):
        read_table(content, name)
