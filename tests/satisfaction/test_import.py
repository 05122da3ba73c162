"""Manufacturer files: a valid file is imported whole, a malformed one not at all with
every bad row reported; weak items and the analysis meeting follow each import."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from crm_site.models import Notification
from satisfaction import services
from satisfaction.models import (
    AnalysisMeeting,
    ItemScore,
    ManufacturerReport,
    ScoreImport,
    Target,
    WeakItem,
)

from .factories import HEADER, csv_bytes, import_scores, rows_for, xlsx_bytes

pytestmark = pytest.mark.django_db
MAY = date(2026, 5, 1)


def test_valid_csv_is_imported(cr_manager, store):
    rows = rows_for(store.code, "CSS", "2026-05", {"S01": 962, "S02": 931, "S03": 955, "S04": 990},
                    total=951, rank=32, size=120, grade="B")
    result = services.score_import_file(actor=cr_manager, name="css.csv", content=csv_bytes(rows))
    assert result.status == ScoreImport.Status.IMPORTED, result.errors
    report = ManufacturerReport.objects.get(store=store, survey="css", period=MAY)
    assert (report.total_score, report.region_rank, report.region_size, report.grade) == (
        Decimal("951"), 32, 120, "B")
    assert dict(report.items.values_list("code", "score")) == {
        "S01": Decimal("962"), "S02": Decimal("931"), "S03": Decimal("955"), "S04": Decimal("990")}
    assert list(result.stores.all()) == [store]


def test_valid_xlsx_is_imported(cr_manager, store):
    rows = rows_for(store.code, "CSI", "2026-05", {"A01": 955.5, "A02": 948})
    result = services.score_import_file(actor=cr_manager, name="csi.XLSX", content=xlsx_bytes(rows))
    assert result.status == ScoreImport.Status.IMPORTED, result.errors
    assert ItemScore.objects.filter(report__survey="csi").count() == 2


def test_malformed_file_reports_each_bad_row_and_imports_nothing(cr_manager, store, other_store):
    good = rows_for(store.code, "CSS", "2026-05", {"S01": 960})[0]
    rows = [
        good,                                                                  # row 2: fine
        [store.code, "CSX", "2026-05", "S02", "项目", 950, "", "", "", "", ""],  # 3: survey
        [store.code, "CSS", "2026-13", "S03", "项目", 950, "", "", "", "", ""],  # 4: month
        [store.code, "CSS", "2026-05", "S04", "项目", "九百", "", "", "", "", ""],  # 5: score
        [store.code, "CSS", "2026-05", "S05", "项目", 1200, "", "", "", "", ""],  # 6: range
        ["nowhere", "CSS", "2026-05", "S06", "项目", 950, "", "", "", "", ""],   # 7: store
        [other_store.code, "CSS", "2026-05", "S07", "项目", 950, "", "", "", "", ""],  # 8: scope
        [store.code, "CSS", "2026-05", "S01", "重复", 950, "", "", "", "", ""],    # 9: duplicate
        [store.code, "CSS", "2026-05", "", "", 950, "", "", 0, "", ""],         # 10: code, name, rank
        [store.code, "CSS", "2026-05", "S08", "项目", 950, "", "", 30, 20, ""],    # 11: rank > size
    ]
    result = services.score_import_file(actor=cr_manager, name="bad.csv", content=csv_bytes(rows))
    assert result.status == ScoreImport.Status.REJECTED
    by_row = {}
    for error in result.errors:
        by_row.setdefault(error["row"], set()).add(error["column"])
    assert by_row == {3: {"survey"}, 4: {"period"}, 5: {"score"}, 6: {"score"},
                      7: {"store_code"}, 8: {"store_code"}, 9: {"item_code"},
                      10: {"item_code", "item_name", "region_rank"}, 11: {"region_rank"}}
    assert all(error["message"] for error in result.errors)
    assert not ManufacturerReport.objects.exists()
    assert not ItemScore.objects.exists()
    assert not WeakItem.objects.exists()
    assert not AnalysisMeeting.objects.exists()


def test_inconsistent_report_values_are_rejected(cr_manager, store):
    rows = rows_for(store.code, "CSS", "2026-05", {"S01": 960}, rank=30) + \
        rows_for(store.code, "CSS", "2026-05", {"S02": 950}, rank=31)
    result = services.score_import_file(actor=cr_manager, name="x.csv", content=csv_bytes(rows))
    assert result.status == ScoreImport.Status.REJECTED
    assert result.errors == [{"row": 3, "column": "region_rank", "message": result.errors[0]["message"]}]
    assert not ManufacturerReport.objects.exists()


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("scores.txt", b"a,b", ".xlsx"),
    ("scores.xlsx", b"<html>not a workbook</html>", "Excel"),
    ("scores.csv", b"", "表头"),
    ("scores.csv", "门店代码,调查\nA,CSS\n".encode(), "缺少列"),
    ("scores.csv", csv_bytes([]), "没有数据行"),
])
def test_unreadable_files_are_reported_on_row_1(cr_manager, name, content, fragment):
    result = services.score_import_file(actor=cr_manager, name=name, content=content)
    assert result.status == ScoreImport.Status.REJECTED
    assert result.errors[0]["row"] == 1
    assert fragment in result.errors[0]["message"]


def test_gbk_csv_from_chinese_excel(cr_manager, store):
    text = ",".join(HEADER) + f"\n{store.code},售后,2026年5月,A01,接待,960,,,,,\n"
    result = services.score_import_file(actor=cr_manager, name="gbk.csv", content=text.encode("gbk"))
    assert result.status == ScoreImport.Status.IMPORTED, result.errors
    assert ManufacturerReport.objects.get().survey == "csi"


def test_reimport_updates_the_month_instead_of_duplicating(cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 900, "S02": 960})
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 955, "S03": 970}, total=960)
    report = ManufacturerReport.objects.get()
    assert report.total_score == Decimal("960")
    assert dict(report.items.values_list("code", "score")) == {"S01": Decimal("955"),
                                                               "S03": Decimal("970")}
    assert AnalysisMeeting.objects.count() == 1


def test_import_needs_the_permission(caller):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.score_import_file(actor=caller, name="x.csv", content=b"")


def test_weak_items_found_after_import(cr_manager, store):
    # default item target 950, bottom 3
    import_scores(cr_manager, store, "CSS", "2026-05",
                  {"S01": 990, "S02": 985, "S03": 980, "S04": 975, "S05": 940, "S06": 970})
    weak = dict(WeakItem.objects.filter(store=store, period=MAY).values_list("code", "reason"))
    assert weak == {"S05": "both", "S06": "bottom", "S04": "bottom"}
    assert WeakItem.objects.get(code="S05").target == Decimal("950")


def test_store_target_changes_what_is_weak(cr_manager, store):
    Target.objects.create(measure="css_item", store=store, value=Decimal("980"))
    import_scores(cr_manager, store, "CSS", "2026-05",
                  {"S01": 990, "S02": 985, "S03": 979, "S04": 975, "S05": 974, "S06": 970})
    reasons = dict(WeakItem.objects.values_list("code", "reason"))
    assert reasons["S03"] == "below_target"
    assert set(reasons) == {"S03", "S04", "S05", "S06"}


def test_meeting_due_within_3_days_with_weak_items_on_agenda(cr_manager, store):
    with time_machine.travel(datetime(2026, 6, 5, 2, 0, tzinfo=UTC), tick=False):
        import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 990, "S02": 930})
    meeting = AnalysisMeeting.objects.get()
    assert meeting.due_on == date(2026, 6, 8)
    assert meeting.status == AnalysisMeeting.Status.SCHEDULED
    assert set(meeting.agenda.values_list("code", flat=True)) == {"S01", "S02"}
    assert Notification.objects.filter(user=cr_manager, url__contains=str(meeting.pk)).count() == 1


def test_meeting_due_date_follows_the_beijing_date(cr_manager, store):
    # 17:00 UTC on 5 June is already 6 June in Beijing
    with time_machine.travel(datetime(2026, 6, 5, 17, 0, tzinfo=UTC), tick=False):
        import_scores(cr_manager, store, "CSI", "2026-05", {"A01": 990})
    assert AnalysisMeeting.objects.get().due_on == date(2026, 6, 9)


def test_meeting_due_date_editable_and_minutes_recorded(cr_manager, store):
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 990})
    meeting = AnalysisMeeting.objects.get()
    services.analysis_meeting_update(actor=cr_manager, meeting=meeting,
                                     due_on=meeting.due_on + timedelta(days=2))
    with pytest.raises(ValidationError) as error:
        services.analysis_meeting_record(actor=cr_manager, meeting=meeting, held_at=timezone.now(),
                                         minutes="", decisions="")
    assert {"minutes", "decisions"} <= set(error.value.message_dict)
    services.analysis_meeting_record(actor=cr_manager, meeting=meeting, held_at=timezone.now(),
                                     minutes="讨论了S01", decisions="销售部制定计划")
    meeting.refresh_from_db()
    assert meeting.status == AnalysisMeeting.Status.HELD
    assert meeting.chair == cr_manager


def test_an_import_bomb_is_rejected_naming_the_limit(cr_manager, store):
    """A manufacturer 'file' of a few hundred KB that inflates to a million rows."""
    from tests.crm_site.test_spreadsheets import bomb

    result = services.score_import_file(actor=cr_manager, name="css.xlsx",
                                        content=bomb(header=HEADER))
    assert result.status == ScoreImport.Status.REJECTED
    assert "最多 20,000 行" in result.errors[0]["message"]
    assert not ManufacturerReport.objects.exists()
