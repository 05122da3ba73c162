"""/api/v1/checklists/, /api/v1/inspections/, /api/v1/rectifications/: the same services
as the pages, scoped to the caller's stores, with photo upload; in the OpenAPI schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from crm_site.roles import Role
from inspections import services
from inspections.models import Area, Inspection, Outcome, Photo, Rectification
from tests.validation import api_errors

from .factories import html_as_jpg, jpeg, text_file

pytestmark = pytest.mark.django_db


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def count(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries), response.json()


def test_checklists_are_scoped_and_carry_items(specialist, checklists, other_checklists):
    n, body = count(api_for(specialist), "/api/v1/checklists/")
    assert body["count"] == len(Area.values)
    cars = next(c for c in body["results"] if c["area"] == "display_cars")
    assert cars["times"] == ["09:00", "14:15"] and len(cars["items"]) == 5
    foreign = other_checklists[Area.BAR].pk
    assert api_for(specialist).get(f"/api/v1/checklists/{foreign}/").status_code == 404


def test_manager_changes_item_over_api(cr_manager, specialist, checklists):
    template = checklists[Area.OFFICES]
    item = template.items.first()
    response = api_for(cr_manager).patch(f"/api/v1/checklists/{template.pk}/items/{item.pk}/",
                                         {"weight": 4}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    response = api_for(cr_manager).post(f"/api/v1/checklists/{template.pk}/items/",
                                        {"text": "垃圾桶已清空", "weight": 1}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 3
    bad = api_for(cr_manager).post(f"/api/v1/checklists/{template.pk}/items/", {"weight": 1}, format="json")
    assert bad.status_code == 400 and "text" in api_errors(bad)
    denied = api_for(specialist).post(f"/api/v1/checklists/{template.pk}/items/",
                                      {"text": "x", "weight": 1}, format="json")
    assert denied.status_code == 403


def test_round_over_api(specialist, consultant, cr_manager, store, checklists, media_files):
    round_ = Inspection.objects.create(store=store, template=checklists[Area.BAR], area=Area.BAR,
                                       day=timezone.localdate(), scheduled_for=timezone.now())
    api = api_for(specialist)
    body = api.post(f"/api/v1/inspections/{round_.pk}/start/").json()
    assert body["status"] == "in_progress" and len(body["results"]) == 3
    first, *rest = body["results"]

    photos = f"/api/v1/inspections/{round_.pk}/photos/"
    bad = api.post(photos, {"result": first["id"], "photo": html_as_jpg()}, format="multipart")
    assert bad.status_code == 400 and api_errors(bad)["photo"][0].startswith("照片：")
    bad = api.post(photos, {"result": first["id"], "photo": text_file()}, format="multipart")
    assert bad.status_code == 400 and "photo" in api_errors(bad)
    assert not Photo.objects.exists() and media_files() == []

    api.post(f"/api/v1/inspections/{round_.pk}/answer/",
             {"result": first["id"], "outcome": "fail", "note": "饮品不足", "responsible": consultant.pk},
             format="json")
    photo = api.post(f"/api/v1/inspections/{round_.pk}/photos/", {"result": first["id"], "photo": jpeg()},
                     format="multipart")
    assert photo.status_code == 201 and photo.json()["kind"] == "before"
    for result in rest:
        api.post(f"/api/v1/inspections/{round_.pk}/answer/", {"result": result["id"], "outcome": "pass"},
                 format="json")
    done = api.post(f"/api/v1/inspections/{round_.pk}/complete/").json()
    assert done["status"] == "completed" and done["score"] == "71.4"  # bar weights 2, 2, 3: 5 of 7

    rectification = Rectification.objects.get(inspection=round_)
    mine = api_for(consultant)
    listed = mine.get("/api/v1/rectifications/").json()
    assert [r["id"] for r in listed["results"]] == [rectification.pk]
    assert len(listed["results"][0]["before_photos"]) == 1
    no_photo = mine.post(f"/api/v1/rectifications/{rectification.pk}/fix/", {"note": "x"}, format="multipart")
    assert no_photo.status_code == 400 and "photo" in api_errors(no_photo)
    fixed = mine.post(f"/api/v1/rectifications/{rectification.pk}/fix/", {"note": "已补充", "photo": jpeg()},
                      format="multipart").json()
    assert fixed["status"] == "fixed" and len(fixed["after_photos"]) == 1
    verified = api_for(cr_manager).post(f"/api/v1/rectifications/{rectification.pk}/verify/",
                                        {"passed": True}, format="json").json()
    assert verified["status"] == "verified"


def test_answer_validation(specialist, checklists):
    round_ = services.inspection_create_extra(actor=specialist, template=checklists[Area.BAR],
                                              now=timezone.now())
    api = api_for(specialist)
    url = f"/api/v1/inspections/{round_.pk}/answer/"
    assert api.post(url, {"result": 0, "outcome": "pass"}, format="json").status_code == 400
    response = api.post(url, {"result": round_.results.first().pk, "outcome": "maybe"}, format="json")
    assert response.status_code == 400 and "outcome" in api_errors(response)


def test_another_stores_records_are_404(specialist, make_user, other_store, other_checklists):
    foreign_inspector = make_user(Role.CR_SPECIALIST, other_store)
    foreign_person = make_user(Role.SALES_MANAGER, other_store)
    round_ = services.inspection_create_extra(actor=foreign_inspector, template=other_checklists[Area.BAR],
                                              now=timezone.now())
    for result in round_.results.all():
        services.inspection_answer(result=result, actor=foreign_inspector, outcome=Outcome.FAIL,
                                   responsible=foreign_person)
        services.result_add_photo(result=result, actor=foreign_inspector, upload=jpeg())
    services.inspection_complete(inspection=round_, actor=foreign_inspector)
    rectification = round_.rectifications.first()
    api = api_for(specialist)
    assert api.get(f"/api/v1/inspections/{round_.pk}/").status_code == 404
    assert api.post(f"/api/v1/inspections/{round_.pk}/start/").status_code == 404
    assert api.get(f"/api/v1/rectifications/{rectification.pk}/").status_code == 404
    assert api.post(f"/api/v1/rectifications/{rectification.pk}/verify/", {"passed": True},
                    format="json").status_code == 404
    assert api.get("/api/v1/inspections/").json()["count"] == 0
    assert api.get("/api/v1/rectifications/").json()["count"] == 0


def test_list_endpoints_fixed_queries(cr_manager, started, walk, consultant):
    api = api_for(cr_manager)
    walk(started(Area.DISPLAY_CARS), [Outcome.FAIL], responsible=consultant)
    cr_manager.has_perm("inspections.view_inspection")  # permissions cached on the user from here on
    first = {url: count(api, url)[0] for url in ("/api/v1/inspections/", "/api/v1/rectifications/",
                                                 "/api/v1/checklists/")}
    for _n in range(3):
        walk(started(Area.DISPLAY_CARS), [Outcome.FAIL], responsible=consultant)
    for url, n in first.items():
        again, body = count(api, url)
        assert again == n, url
    assert count(api, "/api/v1/rectifications/")[1]["count"] == 20


def test_schema_lists_the_endpoints(manager_client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in ("/api/v1/checklists/", "/api/v1/inspections/{id}/photos/",
                 "/api/v1/inspections/{id}/answer/", "/api/v1/rectifications/{id}/fix/",
                 "/api/v1/rectifications/{id}/photos/"):
        assert path in paths, path
    upload = paths["/api/v1/inspections/{id}/photos/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
