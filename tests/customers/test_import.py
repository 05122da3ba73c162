"""Import of DMS exports: mapping, dry run, row errors, all or nothing, idempotent upsert."""

import io
from datetime import date

import openpyxl
import pytest
from django.urls import reverse

from customers.importing import run_import
from customers.models import Customer, Sale, ServiceVisit, Vehicle
from tests.customers.factories import make_id_number, make_vin

pytestmark = pytest.mark.django_db


def csv_bytes(rows):
    return ("\n".join(",".join(str(c) for c in row) for row in rows) + "\n").encode("utf-8-sig")


def xlsx_bytes(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CUSTOMERS = [
    ["姓名", "手机号", "身份证号", "性别", "家庭住址", "接受短信", "不认识的列"],
    ["王伟", "139 0000 0001", make_id_number(date(1985, 6, 15), male=True), "男", "浦东新区1号", "是", "x"],
    ["李娜", "13900000002", "", "女", "徐汇区2号", "否", "y"],
]


def test_dry_run_maps_columns_and_saves_nothing(store):
    report = run_import(kind="customers", store=store, content=csv_bytes(CUSTOMERS),
                        filename="c.csv", dry_run=True)
    assert report.ok and report.dry_run
    assert report.mapping["手机号"] == "mobile" and report.mapping["不认识的列"] is None
    assert report.totals["new"] == 2
    assert not Customer.objects.exists()


def test_import_then_reimport_changes_nothing(store):
    report = run_import(kind="customers", store=store, content=csv_bytes(CUSTOMERS),
                        filename="c.csv", dry_run=False)
    assert report.imported and report.totals["new"] == 2
    wang = Customer.objects.get(name="王伟")
    assert wang.mobile == "13900000001" and wang.birth_date == date(1985, 6, 15)
    assert not Customer.objects.get(name="李娜").sms_allowed
    history_before = wang.history.count()
    again = run_import(kind="customers", store=store, content=csv_bytes(CUSTOMERS),
                       filename="c.csv", dry_run=False)
    assert again.imported and again.totals == {"new": 0, "update": 0, "skip": 2, "invalid": 0}
    assert Customer.objects.count() == 2
    assert wang.history.count() == history_before


def test_changed_row_updates_by_id_number(store):
    run_import(kind="customers", store=store, content=csv_bytes(CUSTOMERS), filename="c.csv",
               dry_run=False)
    changed = [row[:] for row in CUSTOMERS]
    changed[1][4] = "浦东新区99号"
    report = run_import(kind="customers", store=store, content=csv_bytes(changed), filename="c.csv",
                        dry_run=False)
    assert report.totals["update"] == 1 and report.totals["skip"] == 1
    assert Customer.objects.get(name="王伟").home_address == "浦东新区99号"


def test_one_bad_row_imports_nothing_and_names_the_row(store):
    rows = CUSTOMERS + [["", "123", "", "", "", "", ""], ["赵六", "13900000006", "", "未知", "", "", ""]]
    report = run_import(kind="customers", store=store, content=csv_bytes(rows), filename="c.csv",
                        dry_run=False)
    assert not report.ok and not report.imported
    numbers = [number for number, _messages in report.row_errors]
    assert numbers == [4, 5]
    assert any("姓名" in m for m in report.row_errors[0][1])
    assert any("手机" in m for m in report.row_errors[0][1])
    assert any("性别" in m for m in report.row_errors[1][1])
    assert not Customer.objects.exists()


def test_missing_required_column(store):
    report = run_import(kind="customers", store=store, content=csv_bytes([["手机"], ["13900000001"]]),
                        filename="c.csv", dry_run=False)
    assert report.missing == ["姓名"]
    assert not Customer.objects.exists()


def test_xlsx_with_vehicles_sales_and_visits(store):
    run_import(kind="customers", store=store, content=xlsx_bytes(CUSTOMERS), filename="c.xlsx",
               dry_run=False)
    vin = make_vin(42)
    vehicles = [["车架号", "车牌号", "车型", "车主手机"], [vin.lower(), "沪A12345", "卡罗拉", "13900000001"]]
    assert run_import(kind="vehicles", store=store, content=xlsx_bytes(vehicles), filename="v.xlsx",
                      dry_run=False).imported
    sales = [["车架号", "订车日期", "交车日期", "成交价", "DMS单号"],
             [vin, date(2026, 8, 1), "2026/8/10", "150,000", "XS1"]]
    assert run_import(kind="sales", store=store, content=xlsx_bytes(sales), filename="s.xlsx",
                      dry_run=False).imported
    visits = [["车架号", "进厂日期", "维修类型", "金额", "里程", "工单号"],
              [vin, "2026-11-01", "首保", "0", "5000", "WX1"]]
    assert run_import(kind="visits", store=store, content=xlsx_bytes(visits), filename="w.xlsx",
                      dry_run=False).imported
    vehicle = Vehicle.objects.get()
    assert vehicle.customer.name == "王伟"
    assert vehicle.first_service_done_on == date(2026, 11, 1)
    assert vehicle.next_service_due_on == date(2027, 5, 1)
    # the same files again change nothing
    for kind, rows in (("vehicles", vehicles), ("sales", sales), ("visits", visits)):
        report = run_import(kind=kind, store=store, content=xlsx_bytes(rows), filename="x.xlsx",
                            dry_run=False)
        assert report.imported and report.totals["skip"] == 1, (kind, report)
    assert Sale.objects.count() == 1 and ServiceVisit.objects.count() == 1


def test_vehicle_with_unknown_owner_is_a_row_error(store):
    rows = [["车架号", "车主手机"], [make_vin(1), "13900000009"]]
    report = run_import(kind="vehicles", store=store, content=csv_bytes(rows), filename="v.csv",
                        dry_run=False)
    assert report.row_errors and report.row_errors[0][0] == 2
    assert not Vehicle.objects.exists()


def test_vehicle_of_another_store_is_refused(store, other_store):
    from tests.customers.factories import make_customer, make_vehicle

    other = make_customer(other_store, 5)
    car = make_vehicle(other, 5)
    run_import(kind="customers", store=store, content=csv_bytes(CUSTOMERS), filename="c.csv",
               dry_run=False)
    rows = [["车架号", "进厂日期", "维修类型"], [car.vin, "2026-11-01", "repair"]]
    report = run_import(kind="visits", store=store, content=csv_bytes(rows), filename="w.csv",
                        dry_run=False)
    assert report.row_errors and "其他门店" in " ".join(report.row_errors[0][1])


def test_gbk_csv_is_read(store):
    content = "\n".join(",".join(r) for r in [["姓名", "手机"], ["王伟", "13900000001"]]).encode("gbk")
    report = run_import(kind="customers", store=store, content=content, filename="c.csv", dry_run=False)
    assert report.imported


def test_upload_preview_then_confirm_pages(manager_client, store, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.csv", csv_bytes(CUSTOMERS), content_type="text/csv")
    response = manager_client.post(reverse("customers:import"), {"kind": "customers", "store": store.pk,
                                                                 "file": upload})
    assert response.status_code == 200
    assert "确认导入" in response.text and not Customer.objects.exists()
    response = manager_client.post(reverse("customers:import-confirm"))
    assert response.status_code == 200 and "导入完成" in response.text
    assert Customer.objects.count() == 2


def test_import_page_needs_the_permission(client, caller):
    client.force_login(caller)
    assert client.get(reverse("customers:import")).status_code == 403


def test_skip_invalid_imports_the_good_rows_only_when_asked(store):
    rows = CUSTOMERS + [["", "123", "", "", "", "", ""]]
    report = run_import(kind="customers", store=store, content=csv_bytes(rows), filename="c.csv",
                        dry_run=False, skip_invalid=True)
    assert report.imported and [n for n, _m in report.row_errors] == [4]
    assert Customer.objects.count() == 2


def test_an_import_bomb_is_refused_with_the_limit_and_nothing_saved(manager_client, store,
                                                                      settings, tmp_path):
    """An .xlsx of a few hundred KB that inflates to a million rows: the upload page
    answers at once naming the limit, instead of parsing until the worker dies."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.crm_site.test_spreadsheets import bomb

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("customers.xlsx", bomb(header=("姓名", "手机")))
    response = manager_client.post(reverse("customers:import"), {"kind": "customers",
                                                                 "store": store.pk, "file": upload})
    assert response.status_code == 200
    assert "最多 20,000 行" in response.text
    assert "确认导入" not in response.text
    assert not Customer.objects.exists()
