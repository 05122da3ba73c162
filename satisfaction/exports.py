"""Excel workbooks managers send on: the monthly satisfaction report of a store, and the
template of a manufacturer score file. Cells go through crm_site.exports (formula
injection neutralised)."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from crm_site.exports import sheet_append

from .models import Measure

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="0D6EFD")
STATUS_FILL = {"met": "D1E7DD", "below": "FFF3CD", "missed": "F8D7DA"}
STATUS_TEXT = {"met": "达标", "below": "未达计划", "missed": "未达标"}


def _header(sheet, columns):
    sheet_append(sheet, [str(c) for c in columns])
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center")


def _n(value):
    return float(value) if value is not None else None


def _save(workbook):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def monthly_report(data, by_department):
    """The monthly satisfaction report (月度满意度报告): figures against target, CSS/CSI
    items, weak items and their plans, follow-up by department, reminder funnel and the
    staff ranking. `data` is a selectors.Dashboard."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("指标")
    sheet_append(sheet, [_("月度满意度报告"), data.store.name, f"{data.period:%Y-%m}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet_append(sheet, [_("生成时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    sheet_append(sheet, [])
    _header(sheet, [_("指标"), _("实际"), _("目标"), _("底线"), _("状态"), _("等级"), _("分子"),
                    _("分母")])
    for measure in Measure.values:
        figure = data.figures.get(measure)
        if figure is None:
            continue
        target = figure.target
        sheet_append(sheet, [
            str(Measure(measure).label),
            _n(figure.value) if figure.value is not None else _("不适用"),
            _n(target.value) if target else None,
            _n(target.threshold) if target and target.threshold is not None else None,
            _(STATUS_TEXT[figure.status]) if figure.status else "",
            figure.grade, figure.numerator, figure.denominator,
        ])
        if figure.status:
            sheet.cell(sheet.max_row, 5).fill = PatternFill("solid", fgColor=STATUS_FILL[figure.status])
    sheet.column_dimensions["A"].width = 28

    items = workbook.create_sheet(_("单项得分"))
    _header(items, [_("调查"), _("项目代码"), _("项目"), _("得分"), _("区域平均")])
    for item in data.items:
        sheet_append(items, [item.report.get_survey_display(), item.code, item.name, _n(item.score),
                      _n(item.region_average)])
    items.column_dimensions["C"].width = 40

    weak = workbook.create_sheet(_("薄弱项与计划"))  # a sheet name: 31 characters at most
    _header(weak, [_("调查"), _("项目"), _("得分"), _("目标"), _("原因"), _("改善计划"), _("计划状态"),
                   _("当前步骤"), _("负责人")])
    for item in data.weak_items:
        plans = list(item.plans.all()) or [None]
        for plan in plans:
            sheet_append(weak, [item.get_survey_display(), item.name, _n(item.score), _n(item.target),
                         item.get_reason_display(), plan.title if plan else _("（未制定）"),
                         plan.get_status_display() if plan else "",
                         plan.get_step_display() if plan else "", str(plan.owner) if plan else ""])
    weak.column_dimensions["B"].width = 36
    weak.column_dimensions["F"].width = 36

    followup = workbook.create_sheet(_("回访"))
    _header(followup, [_("部门"), _("应回访"), _("已接通"), _("回访率"), _("评价数"), _("满意"),
                       _("不满意"), _("满意率")])
    for row in by_department:
        sheet_append(followup, [row.get("label", row["department"]), row["due"], row["reached"],
                         _n(row["rate"]), row["answered"], row["satisfied"], row["dissatisfied"],
                         _n(row["share"])])
    sheet_append(followup, [])
    _header(followup, [_("提醒方案"), _("应提醒"), _("短信"), _("已接通"), _("已预约"), _("已进厂"),
                       _("转化率")])
    for row in data.funnel:
        sheet_append(followup, [row.get("label", row["programme"]), row["due"], row["sms"], row["reached"],
                         row["booked"], row["came_in"], _n(row["conversion"])])

    ranking = workbook.create_sheet(_("员工排名"))
    _header(ranking, [_("名次"), _("员工"), _("神秘访客平均分"), _("检查次数")])
    for position, row in data.staff_ranking:
        sheet_append(ranking, [position, row.get("name") or row["staff__username"], _n(row["avg"]), row["n"]])
    return _save(workbook)


def import_template():
    """A manufacturer score file with the expected columns and two example rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "CSS-CSI"
    sheet_append(sheet, ["门店代码", "调查", "月份", "项目代码", "项目", "得分", "区域平均", "总分",
                  "区域排名", "区域店数", "等级"])
    sheet_append(sheet, ["sh-pudong", "CSS", "2026-05", "S01", "销售顾问接待", 962, 955, 951, 32, 120, "B"])
    sheet_append(sheet, ["sh-pudong", "CSS", "2026-05", "S02", "交车过程", 931, 948, 951, 32, 120, "B"])
    return _save(workbook)


def table_workbook(title, sheets):
    """A workbook of simple tables: sheets is [(name, headers, rows)]; the first sheet
    starts with the title line."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for index, (name, headers, rows) in enumerate(sheets):
        sheet = workbook.create_sheet(str(name)[:31])
        if index == 0:
            sheet_append(sheet, [str(title)])
            sheet["A1"].font = Font(bold=True, size=14)
            sheet_append(sheet, [_("生成时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
            sheet_append(sheet, [])
        _header(sheet, headers)
        for row in rows:
            sheet_append(sheet, [_n(v) if hasattr(v, "quantize") else v for v in row])
        for column in "ABCDEFGHIJ":
            sheet.column_dimensions[column].width = 16
    return _save(workbook)
