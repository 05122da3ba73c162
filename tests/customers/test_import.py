"""Import of DMS exports as jobs: columns found by heading, bad cells named by row and
column, dry run, all or nothing, idempotent re-import, history rows."""

import io
from datetime import date

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from crm_site import imports
from crm_site.models import ImportJob
from customers.models import ConsentChange, Customer, InsurancePolicy, Sale, ServiceVisit, Vehicle
from tests.customers.factories import make_id_number, make_vin
from tests.imports import csv_bytes, error_cells, run_import, xlsx_bytes

pytestmark = pytest.mark.django_db

CUSTOMERS = [
    ["姓名", "手机号", "身份证号", "性别", "家庭住址", "接受短信", "不认识的列"],
    ["王伟", "139 0000 0001", make_id_number(date(1985, 6, 15), male=True), "男", "浦东新区1号", "是", "x"],
    ["李娜", "13900000002", "", "女", "徐汇区2号", "否", "y"],
]


def test_dry_run_counts_and_saves_nothing(store, cr_manager):
    job = run_import(kind="customers", store=store, actor=cr_manager,
                     content=csv_bytes(CUSTOMERS), commit=False)
    assert job.status == ImportJob.Status.CHECKED and job.dry_run
    assert job.counts == {"new": 2, "update": 0, "same": 0, "invalid": 0}
    assert job.total_rows == job.processed_rows == 2
    assert not Customer.objects.exists()


def test_import_then_the_same_file_again_changes_nothing(store, cr_manager):
    job = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS))
    assert job.status == ImportJob.Status.COMMITTED, job.errors
    assert job.counts["new"] == 2
    wang = Customer.objects.get(name="王伟")
    assert wang.mobile == "13900000001" and wang.birth_date == date(1985, 6, 15)
    assert wang.gender == "male"
    li = Customer.objects.get(name="李娜")
    assert not li.sms_allowed and li.call_allowed
    assert ConsentChange.objects.filter(customer=li, channel="sms", allowed=False,
                                        method="import").exists()
    # history rows, naming who imported
    assert wang.history.count() == 1
    assert wang.history.get().history_user == cr_manager
    snapshot = list(Customer.objects.order_by("pk").values())
    again = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS))
    assert again.status == ImportJob.Status.COMMITTED
    assert again.counts == {"new": 0, "update": 0, "same": 2, "invalid": 0}
    assert list(Customer.objects.order_by("pk").values()) == snapshot
    assert wang.history.count() == 1
    # the second upload of the same file was told it had been imported before
    assert imports.earlier_import(again) is not None


def test_a_changed_row_updates_by_id_number_with_a_history_row(store, cr_manager):
    run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS))
    changed = [row[:] for row in CUSTOMERS]
    changed[1][4] = "浦东新区99号"
    changed[1][1] = "13900000009"
    job = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(changed))
    assert job.counts == {"new": 0, "update": 1, "same": 1, "invalid": 0}
    wang = Customer.objects.get(name="王伟")
    assert wang.home_address == "浦东新区99号" and wang.mobile == "13900000009"
    assert wang.history.count() == 2
    assert wang.history.first().home_address == "浦东新区99号"


def test_bad_cells_are_named_by_row_and_column_and_nothing_is_saved(store, cr_manager):
    rows = CUSTOMERS + [["", "123", "", "", "", "", ""],
                        ["赵六", "13900000006", "", "未知", "", "也许", ""]]
    job = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(rows))
    assert job.status == ImportJob.Status.REJECTED
    assert error_cells(job) == [(4, "姓名"), (4, "手机"), (5, "性别"), (5, "接受短信")]
    by_cell = {(e["row"], e["column"]): e for e in job.errors}
    assert by_cell[(4, "手机")]["value"] == "123"
    assert "11位" in by_cell[(4, "手机")]["message"]
    assert by_cell[(5, "接受短信")]["message"] == "“也许”应为“是”或“否”。"
    assert job.counts["invalid"] == 2 and job.counts["new"] == 2
    assert not Customer.objects.exists()


def test_duplicate_rows_name_the_first_one(store, cr_manager):
    rows = CUSTOMERS + [["王伟二", "13900000002", "", "", "", "", ""]]
    job = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(rows))
    assert job.status == ImportJob.Status.REJECTED
    assert [(e["row"], e["message"]) for e in job.errors] == [(4, "与第 3 行重复。")]


def test_missing_required_column_is_a_file_error(store, cr_manager):
    job = run_import(kind="customers", store=store, actor=cr_manager,
                     content=csv_bytes([["手机"], ["13900000001"]]))
    assert job.status == ImportJob.Status.REJECTED
    assert job.errors[0]["row"] == 1 and "姓名" in job.errors[0]["message"]


def test_a_failing_commit_saves_nothing(store, cr_manager):
    """A row checked good in the dry run that has become bad by the commit (here: its
    vehicle was retired in between) rolls back every batch already written."""
    run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS))
    vins = [make_vin(n) for n in range(1, 6)]
    vehicles = [["车架号", "车主手机"]] + [[vin, "13900000001"] for vin in vins]
    run_import(kind="vehicles", store=store, actor=cr_manager, content=csv_bytes(vehicles))
    visits = [["车架号", "进厂日期", "维修类型", "工单号"]] + [
        [vin, "2026-10-01", "定期保养", f"RO{n}"] for n, vin in enumerate(vins)]
    job = run_import(kind="visits", store=store, actor=cr_manager, content=csv_bytes(visits),
                     commit=False)
    assert job.status == ImportJob.Status.CHECKED
    Vehicle.objects.filter(vin=vins[-1]).update(is_active=False)
    imports.job_commit(job=job, actor=cr_manager)
    original_batch = imports.BATCH
    imports.BATCH = 2  # the first batches are written before the bad row is read
    try:
        job = imports.job_run(job.pk, commit=True)
    finally:
        imports.BATCH = original_batch
    assert job.status == ImportJob.Status.REJECTED
    assert error_cells(job) == [(6, "车架号")]
    assert not ServiceVisit.objects.exists()
    assert not ServiceVisit.history.exists()
    assert Vehicle.objects.filter(last_visit_on__isnull=False).count() == 0


def test_vehicles_sales_visits_and_policies_from_xlsx(store, cr_manager):
    run_import(kind="customers", store=store, actor=cr_manager, content=xlsx_bytes(CUSTOMERS),
               filename="c.xlsx")
    vin = make_vin(42)
    files = {
        "vehicles": [["车架号", "车牌号", "车型", "车主手机"],
                     [vin.lower(), "沪a·12345", "卡罗拉", "13900000001"]],
        "sales": [["车架号", "订车日期", "交车日期", "成交价", "DMS单号"],
                  [vin, date(2026, 8, 1), "2026/8/10", "¥150,000", "XS1"]],
        "visits": [["车架号", "进厂日期", "维修类型", "金额", "里程", "工单号"],
                   [vin, "2026-11-01", "首保", "0", "5000", "WX1"],
                   [vin, "2026年11月20日", "召回", "0", "5600", "WX2"]],
        "policies": [["车架号", "保险公司", "保单号", "起保日期", "到期日期", "保费", "本店投保"],
                     [vin, "中国人保", "P1", "2026-08-10", "2027-08-09", "4,860", "是"]],
    }
    for kind, rows in files.items():
        job = run_import(kind=kind, store=store, actor=cr_manager, content=xlsx_bytes(rows),
                         filename=f"{kind}.xlsx")
        assert job.status == ImportJob.Status.COMMITTED, (kind, job.errors)
    renewal = [["车架号", "保险公司", "保单号", "本店投保", "续保自保单号"], [vin, "平安", "P2", "否", "P1"]]
    job = run_import(kind="policies", store=store, actor=cr_manager, content=csv_bytes(renewal))
    assert job.status == ImportJob.Status.COMMITTED, job.errors
    vehicle = Vehicle.objects.get()
    assert vehicle.customer.name == "王伟" and vehicle.plate == "沪A12345"
    assert vehicle.delivered_on == date(2026, 8, 10)
    assert vehicle.first_service_done_on == date(2026, 11, 1)
    assert vehicle.first_service_due_on is None
    assert vehicle.last_visit_on == date(2026, 11, 20) and vehicle.mileage == 5600
    assert vehicle.next_service_due_on == date(2027, 5, 1)
    assert vehicle.insurance_expires_on == date(2028, 8, 9)
    assert vehicle.history.count() >= 4
    assert sorted(ServiceVisit.objects.values_list("repair_type", flat=True)) == ["first_service", "recall"]
    sale = Sale.objects.get()
    assert sale.price == 150000 and sale.customer.card == Customer.Card.C
    renewed = InsurancePolicy.objects.get(policy_no="P2")
    assert (renewed.starts_on, renewed.expires_on, renewed.bought_here) == (
        date(2027, 8, 10), date(2028, 8, 9), False)
    for model in (ServiceVisit, Sale, InsurancePolicy):
        assert model.history.filter(history_user=cr_manager).count() == model.objects.count()
    # every file again changes nothing
    counts = {m: m.objects.count() for m in (Vehicle, Sale, ServiceVisit, InsurancePolicy)}
    for kind, rows in files.items():
        job = run_import(kind=kind, store=store, actor=cr_manager, content=xlsx_bytes(rows),
                         filename=f"{kind}.xlsx")
        assert job.counts["new"] == job.counts["update"] == 0, (kind, job.counts)
    assert {m: m.objects.count() for m in counts} == counts


def test_vehicle_with_unknown_owner_is_a_row_error(store, cr_manager):
    rows = [["车架号", "车主手机"], [make_vin(1), "13900000009"]]
    job = run_import(kind="vehicles", store=store, actor=cr_manager, content=csv_bytes(rows))
    assert error_cells(job) == [(2, "车主手机")]
    assert not Vehicle.objects.exists()


def test_a_visit_of_another_stores_vehicle_is_refused(store, other_store, cr_manager):
    from tests.customers.factories import make_customer, make_vehicle

    car = make_vehicle(make_customer(other_store, 5), 5)
    rows = [["车架号", "进厂日期", "维修类型"], [car.vin, "2026-11-01", "repair"]]
    job = run_import(kind="visits", store=store, actor=cr_manager, content=csv_bytes(rows))
    assert job.status == ImportJob.Status.REJECTED and "其他门店" in job.errors[0]["message"]


def test_visit_rules_at_their_edges(store, cr_manager):
    run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS))
    vin = make_vin(3)
    run_import(kind="vehicles", store=store, actor=cr_manager,
               content=csv_bytes([["车架号", "车主手机"], [vin, "13900000001"]]))
    rows = [["车架号", "进厂日期", "出厂日期", "维修类型", "金额", "下次保养日期"],
            [vin, "2099-01-01", "", "维修", "", ""],
            [vin, "2026-03-02", "2026-03-01", "保修", "", ""],
            [vin, "2026-03-03", "", "洗车", "", ""],
            [vin, "2026-03-04", "", "维修", "-5", ""],
            [vin, "2026-03-05", "", "维修", "", "2026-03-05"]]
    job = run_import(kind="visits", store=store, actor=cr_manager, content=csv_bytes(rows))
    assert error_cells(job) == [(2, "进厂日期"), (3, "出厂日期"), (4, "维修类型"), (5, "金额"),
                                (6, "下次保养日期")]


def test_gbk_csv_is_read(store, cr_manager):
    content = "\n".join(",".join(r) for r in [["姓名", "手机"], ["王伟", "13900000001"]]).encode("gbk")
    job = run_import(kind="customers", store=store, actor=cr_manager, content=content)
    assert job.status == ImportJob.Status.COMMITTED


def test_errors_sheet_in_the_users_language(store, cr_manager):
    rows = [["name", "mobile"], ["Wang", "123"]]
    job = imports.job_create(actor=cr_manager, kind="customers", store=store, file_name="c.csv",
                             content=csv_bytes(rows), language="en")
    job = imports.job_run(job.pk)
    with translation.override("en"):
        sheet = openpyxl.load_workbook(io.BytesIO(imports.error_sheet(job))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("Row", "Column", "Value", "Reason")
    assert values[1][:3] == (2, "Mobile", "123")


def test_upload_then_confirm_pages(manager_client, store, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("c.csv", csv_bytes(CUSTOMERS), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("imports"), {"kind": "customers", "store": store.pk,
                                                            "file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import-detail", args=[job.pk])
    page = manager_client.get(response.url)
    assert "确认导入" in page.text and not Customer.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("import-confirm", args=[job.pk]))
    page = manager_client.get(response.url)
    assert "导入完成" in page.text
    assert Customer.objects.count() == 2
    # confirming again is refused: the job is done
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("import-confirm", args=[job.pk]))
    assert Customer.objects.count() == 2


def test_the_status_fragment_runs_a_fixed_number_of_queries(manager_client, store, cr_manager,
                                                           django_assert_num_queries):
    many = CUSTOMERS[:1] + [[f"客户{n}", f"139{n:08d}", "", "", "", "", ""] for n in range(300)]
    few = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS[:1] + [
        ["", "1", "", "", "", "", ""]]))
    lots = run_import(kind="customers", store=store, actor=cr_manager,
                      content=csv_bytes(many[:1] + [["", "1", "", "", "", "", ""]] * 300))
    assert few.error_count < lots.error_count
    manager_client.get(reverse("import-status", args=[few.pk]))
    with django_assert_num_queries(9) as first:
        manager_client.get(reverse("import-status", args=[few.pk]))
    with django_assert_num_queries(len(first.captured_queries)):
        manager_client.get(reverse("import-status", args=[lots.pk]))


def test_import_pages_need_the_permission_and_the_store(client, caller, cr_manager, store,
                                                        other_store, make_user):
    job = run_import(kind="customers", store=store, actor=cr_manager, content=csv_bytes(CUSTOMERS),
                     commit=False)
    client.force_login(caller)
    assert client.get(reverse("imports")).status_code == 403
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 403
    stranger = make_user("cr_manager", other_store, username="stranger")
    client.force_login(stranger)
    assert client.get(reverse("imports")).status_code == 200
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("import-errors", args=[job.pk])).status_code == 404
    assert client.post(reverse("import-confirm", args=[job.pk])).status_code == 404


def test_an_import_bomb_is_refused_with_the_limit_and_nothing_saved(
        manager_client, store, django_capture_on_commit_callbacks):
    """An .xlsx of a few hundred KB that inflates to a million rows: the job stops at once
    naming the limit, instead of parsing until the worker dies."""
    from tests.crm_site.test_spreadsheets import bomb

    upload = SimpleUploadedFile("customers.xlsx", bomb(header=("姓名", "手机")))
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("imports"), {"kind": "customers",
                                                            "store": store.pk, "file": upload})
    page = manager_client.get(response.url)
    assert "行数据" in page.text and "最多" in page.text
    assert "确认导入" not in page.text
    assert not Customer.objects.exists()
