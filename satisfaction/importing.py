"""Reading a manufacturer's CSS/CSI file (.xlsx or .csv) into checked rows.

One row per store, survey, month and item. Columns are found by their header, Chinese or
English (see COLUMNS). Every bad row is reported with its spreadsheet row number (the
header is row 1) and the reason; the caller imports nothing unless the list is empty.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_site import imports
from crm_site.spreadsheets import read_table

from . import rules
from .models import Survey

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20000
MAX_SCORE = Decimal(1000)

# field: (accepted headers, required)
COLUMNS = {
    "store_code": (("门店代码", "经销商代码", "store_code", "store"), True),
    "survey": (("调查", "调查类型", "survey"), True),
    "period": (("月份", "期间", "period", "month"), True),
    "item_code": (("项目代码", "item_code", "code"), True),
    "item_name": (("项目", "项目名称", "item_name", "item"), True),
    "score": (("得分", "score"), True),
    "region_average": (("区域平均", "region_average"), False),
    "total_score": (("总分", "total_score", "total"), False),
    "region_rank": (("区域排名", "排名", "region_rank", "rank"), False),
    "region_size": (("区域店数", "region_size"), False),
    "grade": (("等级", "grade"), False),
}
SURVEYS = {"css": Survey.CSS, "销售": Survey.CSS, "csi": Survey.CSI, "售后": Survey.CSI}
# The report-level values every row of one report must agree on.
REPORT_FIELDS = ("total_score", "region_rank", "region_size", "grade")


@dataclass
class ReportData:
    """One store's report for a survey and month, gathered from its rows."""

    store: object
    survey: str
    period: date
    total_score: Decimal | None = None
    region_rank: int | None = None
    region_size: int | None = None
    grade: str = ""
    items: dict = field(default_factory=dict)  # code -> (name, score, region_average)

    def total(self):
        if self.total_score is not None:
            return self.total_score
        return rules.average(score for _name, score, _avg in self.items.values())


@dataclass
class ParsedFile:
    reports: list
    errors: list
    row_count: int


def _error(row, message, column=""):
    return {"row": row, "column": column, "message": str(message)}


def load_dataset(name, content: bytes):
    """The file as a tablib Dataset; ValueError with a readable reason when unreadable or
    over a limit (rows and cells are bounded before the sheet is read)."""
    if len(content) > MAX_BYTES:
        raise ValueError(_("文件过大（最大 5 MB）。"))
    try:
        return read_table(content, name, rows=MAX_ROWS)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from error


def _map_headers(headers):
    normalised = {str(h or "").strip().lower(): index for index, h in enumerate(headers)}
    mapping, missing = {}, []
    for name, (aliases, required) in COLUMNS.items():
        index = next((normalised[a.lower()] for a in aliases if a.lower() in normalised), None)
        if index is not None:
            mapping[name] = index
        elif required:
            missing.append(aliases[0])
    return mapping, missing


def _text(value):
    """The cell as text (crm_site.imports.text); a control character is left for the
    length and value checks below to refuse."""
    try:
        return imports.text(value)
    except ValidationError:
        return str(value).strip()


def _decimal(value):
    """The cell as a number (crm_site.imports.decimal); ValueError names the cell."""
    try:
        return imports.decimal(value)
    except ValidationError:
        raise ValueError(_text(value)) from None


def _integer(value):
    number = _decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 1:
        raise ValueError(_text(value))
    return int(number)


def parse(name, content: bytes, stores_by_code) -> ParsedFile:
    """Check every row of the file. `stores_by_code` holds the stores the importer may
    write to; a row of any other store is an error."""
    try:
        dataset = load_dataset(name, content)
    except ValueError as error:
        return ParsedFile([], [_error(1, error)], 0)
    if not dataset.headers:
        return ParsedFile([], [_error(1, _("文件为空或缺少表头。"))], 0)
    mapping, missing = _map_headers(dataset.headers)
    if missing:
        return ParsedFile([], [_error(1, _("缺少列：%(columns)s") % {"columns": "、".join(missing)})],
                          len(dataset))
    if len(dataset) == 0:
        return ParsedFile([], [_error(1, _("文件中没有数据行。"))], 0)

    reports, errors = {}, []
    for offset, raw in enumerate(dataset, start=2):
        row = {name: raw[index] if index < len(raw) else None for name, index in mapping.items()}
        if all(_text(value) == "" for value in row.values()):
            continue  # a blank line between blocks is not an error
        row_errors = []
        store = stores_by_code.get(_text(row["store_code"]))
        if store is None:
            row_errors.append(_error(offset, _("未知门店代码或无权导入该门店：%(code)s")
                                     % {"code": _text(row["store_code"])}, "store_code"))
        survey = SURVEYS.get(_text(row["survey"]).lower())
        if survey is None:
            row_errors.append(_error(offset, _("调查类型应为 CSS 或 CSI：%(value)s")
                                     % {"value": _text(row["survey"])}, "survey"))
        try:
            period = rules.parse_period(row["period"])
        except ValueError:
            period = None
            row_errors.append(_error(offset, _("月份格式应为 YYYY-MM：%(value)s")
                                     % {"value": _text(row["period"])}, "period"))
        code, item_name = _text(row["item_code"]), _text(row["item_name"])
        if not code or len(code) > 30:
            row_errors.append(_error(offset, _("项目代码为空或过长。"), "item_code"))
        if not item_name or len(item_name) > 200:
            row_errors.append(_error(offset, _("项目名称为空或过长。"), "item_name"))
        values = {}
        for column, maximum in (("score", MAX_SCORE), ("region_average", MAX_SCORE),
                                ("total_score", MAX_SCORE)):
            try:
                number = _decimal(row.get(column))
            except ValueError:
                row_errors.append(_error(offset, _("不是数字：%(value)s")
                                         % {"value": _text(row.get(column))}, column))
                continue
            if number is not None and not 0 <= number <= maximum:
                row_errors.append(_error(offset, _("数值应在 0 到 %(max)s 之间：%(value)s")
                                         % {"max": maximum, "value": number}, column))
                continue
            values[column] = number
        if "score" in values and values["score"] is None:
            row_errors.append(_error(offset, _("得分为空。"), "score"))
        for column in ("region_rank", "region_size"):
            try:
                values[column] = _integer(row.get(column))
            except ValueError:
                row_errors.append(_error(offset, _("应为正整数：%(value)s")
                                         % {"value": _text(row.get(column))}, column))
        grade = _text(row.get("grade")).upper()
        if len(grade) > 5:
            row_errors.append(_error(offset, _("等级过长：%(value)s") % {"value": grade}, "grade"))
        values["grade"] = grade
        if (values.get("region_rank") and values.get("region_size")
                and values["region_rank"] > values["region_size"]):
            row_errors.append(_error(offset, _("区域排名大于区域店数。"), "region_rank"))
        if row_errors:
            errors.extend(row_errors)
            continue

        key = (store.pk, survey, period)
        report = reports.get(key)
        if report is None:
            report = reports[key] = ReportData(store=store, survey=survey, period=period,
                                               **{f: values[f] for f in REPORT_FIELDS})
        else:
            for column in REPORT_FIELDS:
                if values[column] not in (None, "") and getattr(report, column) in (None, ""):
                    setattr(report, column, values[column])
                elif values[column] not in (None, "") and values[column] != getattr(report, column):
                    errors.append(_error(offset, _("与同一报告的其他行不一致：%(column)s")
                                         % {"column": column}, column))
        if code in report.items:
            errors.append(_error(offset, _("项目代码重复：%(code)s") % {"code": code}, "item_code"))
            continue
        report.items[code] = (item_name, values["score"], values.get("region_average"))

    if not reports and not errors:
        errors.append(_error(1, _("文件中没有数据行。")))
    return ParsedFile(list(reports.values()), errors, len(dataset))
