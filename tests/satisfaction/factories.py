"""Builders for satisfaction tests: manufacturer files, reports and checks."""

import csv
import io
from decimal import Decimal

from django.utils import timezone
from openpyxl import Workbook

from satisfaction import services
from satisfaction.models import MysteryShopItem

HEADER = ["门店代码", "调查", "月份", "项目代码", "项目", "得分", "区域平均", "总分", "区域排名",
          "区域店数", "等级"]


def rows_for(store_code, survey, period, scores, total=950, rank=30, size=120, grade="B"):
    """One file row per item: scores is {code: score}."""
    return [[store_code, survey, period, code, f"项目{code}", score, 940, total, rank, size, grade]
            for code, score in scores.items()]


def csv_bytes(rows, header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows, header=HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_scores(actor, store, survey, period, scores, now=None, **report):
    content = csv_bytes(rows_for(store.code, survey, period, scores, **report))
    return services.score_import_file(actor=actor, name=f"{survey}-{period}.csv", content=content,
                                      now=now or timezone.now())


def ms_check(actor, store, staff, points, *, kind="covert", department="sales", checked_on=None):
    """A mystery-shopper check giving the first len(points) standard items these points."""
    items = list(MysteryShopItem.objects.filter(department=department, store__isnull=True)
                 .order_by("order")[:len(points)])
    results = [(item, Decimal(str(p)), "") for item, p in zip(items, points, strict=True)]
    return services.mystery_check_record(
        actor=actor, store=store, kind=kind, department=department,
        checked_on=checked_on or timezone.localdate(), staff=staff, results=results)
