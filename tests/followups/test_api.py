"""/api/v1/programmes/, /api/v1/followup-tasks/ (+ outcome), /api/v1/appointments/."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from crm_site.roles import Role
from tests.validation import api_errors

from .helpers import MON, at, make_calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(caller):
    client = APIClient()
    client.force_authenticate(caller)
    return client


def test_programmes_list_the_default_codes(api):
    response = api.get("/api/v1/programmes/")
    codes = {p["code"] for p in response.json()["results"]}
    assert codes == {"post_delivery_followup", "post_service_followup", "first_service",
                     "periodic_service", "insurance_renewal", "lapsed_recall", "care_class",
                     "birthday", "club_welcome", "club_activity", "missed_appointment"}


def test_tasks_filters_and_outcome(api, store, caller):
    tasks = make_calls(store, 2)
    response = api.get("/api/v1/followup-tasks/", {
        "planned_on_after": MON.isoformat(), "planned_on_before": MON.isoformat(),
        "status": "planned", "assignee": caller.pk, "programme": "periodic_service"})
    assert response.status_code == 200 and response.json()["count"] == 2
    with time_machine.travel(at(MON, 10), tick=False):
        response = api.post(f"/api/v1/followup-tasks/{tasks[0].pk}/outcome/", {
            "outcome": "booked", "appointment_on": (MON + timedelta(days=3)).isoformat()},
            format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done" and response.json()["outcome"] == "booked"
    appointments = api.get("/api/v1/appointments/").json()
    assert appointments["count"] == 1 and appointments["results"][0]["task"] == tasks[0].pk
    with time_machine.travel(at(MON, 10), tick=False):
        response = api.post(f"/api/v1/followup-tasks/{tasks[1].pk}/outcome/",
                            {"outcome": "refused"}, format="json")
    assert response.status_code == 400 and "reason" in api_errors(response)


def test_other_store_cannot_see_or_record(store, other_store, make_user):
    [task] = make_calls(store, 1)
    client = APIClient()
    client.force_authenticate(make_user(Role.CALLER, other_store))
    assert client.get("/api/v1/followup-tasks/").json()["count"] == 0
    assert client.post(f"/api/v1/followup-tasks/{task.pk}/outcome/", {"outcome": "reached"},
                       format="json").status_code == 404
    response = client.post("/api/v1/appointments/", {
        "customer": task.customer_id, "booked_for": (MON + timedelta(days=2)).isoformat(),
        "purpose": "保养"}, format="json")
    assert response.status_code == 400


def test_appointment_by_hand(api, store):
    [task] = make_calls(store, 1)
    with time_machine.travel(at(MON, 10), tick=False):
        response = api.post("/api/v1/appointments/", {
            "customer": task.customer_id, "vehicle": task.vehicle_id,
            "booked_for": (MON + timedelta(days=2)).isoformat(), "purpose": "保养"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "booked"
