"""/api/v1/kpis/, /score-imports/, /targets/, /improvement-plans/: scoped, documented."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from satisfaction.models import ImprovementPlan, ManufacturerReport, Target, WeakItem
from tests.validation import api_errors

from .factories import csv_bytes, import_scores, rows_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(cr_manager):
    client = APIClient()
    client.force_authenticate(cr_manager)
    return client


def test_kpis_for_own_stores_with_not_applicable(api, cr_manager, store, other_store, other_manager):
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 960}, total=951)
    import_scores(other_manager, other_store, "CSS", "2026-05", {"S01": 999}, total=999)
    response = api.get("/api/v1/kpis/", {"period": "2026-05"})
    assert response.status_code == 200
    rows = response.json()
    assert {row["store"] for row in rows} == {store.pk}
    css = next(row for row in rows if row["measure"] == "css_score")
    assert Decimal(css["value"]) == Decimal("951") and css["target"] == 950.0 and css["status"] == "met"
    followup = [row for row in rows if row["measure"] == "followup_rate"]
    assert all(row["value"] is None for row in followup)
    assert api.get("/api/v1/kpis/", {"store": other_store.pk, "period": "2026-05"}).json() == []
    assert api.get("/api/v1/kpis/", {"period": "May"}).status_code == 400


def test_kpis_trend_months(api, cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-04", {"S01": 940})
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 960})
    rows = api.get("/api/v1/kpis/", {"period": "2026-05", "months": 2, "measure": "css_score"}).json()
    assert [row["period"] for row in rows] == ["2026-04-01", "2026-05-01"]


def test_score_import_upload(api, store):
    good = csv_bytes(rows_for(store.code, "CSI", "2026-05", {"A01": 950, "A02": 960}))
    response = api.post("/api/v1/score-imports/", {"file": SimpleUploadedFile("csi.csv", good)},
                        format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "imported"
    bad = csv_bytes([[store.code, "CSI", "2026-05", "A01", "x", "bad", "", "", "", "", ""],
                     [store.code, "CSI", "2026-99", "A02", "x", "1", "", "", "", "", ""]])
    response = api.post("/api/v1/score-imports/", {"file": SimpleUploadedFile("bad.csv", bad)},
                        format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["fields"]["file"][0]["code"] == "rejected"
    assert [e["row"] for e in body["import"]["errors"]] == [2, 3]
    assert ManufacturerReport.objects.count() == 1
    listed = api.get("/api/v1/score-imports/").json()
    assert listed["count"] == 2


def test_callers_cannot_import(store, caller):
    client = APIClient()
    client.force_authenticate(caller)
    response = client.post("/api/v1/score-imports/", {"file": SimpleUploadedFile("x.csv", b"")},
                           format="multipart")
    assert response.status_code == 403


def test_targets_set_per_store(api, store, other_store):
    response = api.post("/api/v1/targets/", {"measure": "followup_rate", "store": store.pk,
                                             "value": "85"})
    assert response.status_code == 201, response.json()
    response = api.post("/api/v1/targets/", {"measure": "followup_rate", "store": store.pk,
                                             "value": "90"})
    assert response.status_code == 201
    assert Target.objects.get(measure="followup_rate", store=store).value == Decimal("90")
    assert api.post("/api/v1/targets/", {"measure": "followup_rate", "store": other_store.pk,
                                         "value": "90"}).status_code == 400
    assert api.post("/api/v1/targets/", {"measure": "followup_rate", "value": "1"}).status_code == 400
    stores = {row["store"] for row in api.get("/api/v1/targets/").json()["results"]}
    assert stores <= {None, store.pk}


def test_a_refused_target_names_the_field_in_the_users_language(api):
    response = api.post("/api/v1/targets/", {"measure": "followup_rate", "value": "1"})
    assert response.status_code == 400
    assert api_errors(response) == {"store": ["只有系统管理员可以修改全部门店的默认目标。"]}
    api.cookies["crm_language"] = "en"
    response = api.post("/api/v1/targets/", {"measure": "followup_rate", "value": "1"})
    assert api_errors(response) == {
        "store": ["Only a system administrator can change the default targets for all stores."]}


def test_improvement_plan_api(api, cr_manager, store, other_store, other_manager):
    import_scores(cr_manager, store, "CSS", "2026-04", {"S01": 990, "S02": 920})
    weak = WeakItem.objects.get(code="S02")
    response = api.post("/api/v1/improvement-plans/", {
        "store": store.pk, "title": "交车", "department": "sales", "owner": cr_manager.pk,
        "weak_item": weak.pk, "problem": "低", "whys": ["a", "b"]}, format="json")
    assert response.status_code == 201, response.json()
    plan_id = response.json()["id"]
    response = api.post(f"/api/v1/improvement-plans/{plan_id}/advance/")
    assert response.status_code == 200 and response.json()["step"] == 2
    assert api.post(f"/api/v1/improvement-plans/{plan_id}/approve/").status_code == 400
    assert api.post(f"/api/v1/improvement-plans/{plan_id}/close/", {}).status_code == 400
    response = api.post(f"/api/v1/improvement-plans/{plan_id}/close/", {"reason": "合并到其他计划"})
    assert response.json()["status"] == "closed"
    # another store's plan: never listed, 404 by id
    import_scores(other_manager, other_store, "CSS", "2026-04", {"S09": 900})
    foreign = ImprovementPlan.objects.create(
        store=other_store, title="B", department="sales", owner=other_manager,
        weak_item=WeakItem.objects.get(code="S09"))
    ids = [row["id"] for row in api.get("/api/v1/improvement-plans/").json()["results"]]
    assert foreign.pk not in ids
    assert api.get(f"/api/v1/improvement-plans/{foreign.pk}/").status_code == 404
    assert api.post(f"/api/v1/improvement-plans/{foreign.pk}/close/", {"reason": "x"}).status_code == 404


def test_schema_documents_the_endpoints(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/kpis/", "/api/v1/score-imports/", "/api/v1/targets/",
                 "/api/v1/improvement-plans/", "/api/v1/improvement-plans/{id}/close/"):
        assert path in paths
