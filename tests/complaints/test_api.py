"""/api/v1/complaints/: the same services behind explicit actions."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from complaints.models import Complaint
from crm_site.roles import Role
from tests.validation import api_errors

from .conftest import T0

pytestmark = pytest.mark.django_db
BASE = "/api/v1/complaints/"


@pytest.fixture
def api(staff, clock):
    client = APIClient()
    client.force_authenticate(staff["crm"])
    return client


def test_open_and_walk_the_whole_round(api, staff, customer, vehicle, clock):
    response = api.post(BASE, {"customer": customer.pk, "vehicle": vehicle.pk,
                               "channel": "phone", "category": "technical",
                               "description": "发动机故障灯亮", "severity": "important",
                               "important_reasons": ["A", "g"]}, format="json")
    assert response.status_code == 201, response.data
    body = response.data
    assert body["important_reasons"] == ["A", "G"]
    assert body["response_due_at"].startswith("2026-11-23T10:30:00")  # shown in Shanghai time
    assert body["next_action"] == "respond"
    url = f"{BASE}{body['id']}/"
    clock.move_to(T0 + timedelta(minutes=30, seconds=1))
    response = api.post(url + "respond/", {"channel": "phone", "note": "已联系"}, format="json")
    assert response.status_code == 200 and response.data["status"] == "responded"
    response = api.post(url + "pause/", {"reason": "等待厂家"}, format="json")
    assert response.data["paused_at"] is not None
    clock.move_to(T0 + timedelta(hours=2, minutes=30, seconds=1))
    response = api.post(url + "resume/", {}, format="json")
    assert response.data["resolution_due_at"].startswith("2026-11-24T12:00:00")
    response = api.post(url + "hand-off/", {"department": "service"}, format="json")
    assert response.status_code == 200 and response.data["department_manager"] == staff["svc"].pk
    response = api.post(url + "department-feedback/", {"feedback": "更换传感器"}, format="json")
    assert response.data["status"] == "feedback"
    response = api.post(url + "resolve/", {"resolution": "已更换"}, format="json")
    assert response.data["status"] == "resolved"
    response = api.post(url + "callback/", {"satisfied": False, "note": "灯又亮了"}, format="json")
    assert response.data["round"] == 2 and response.data["status"] == "handed_off"
    api.post(url + "department-feedback/", {"feedback": "线束修复"}, format="json")
    response = api.post(url + "reissue/", {"note": "需厂家技术支持"}, format="json")
    assert response.data["round"] == 3
    kinds = [event["kind"] for event in api.get(url).data["events"]]
    assert kinds[:2] == ["opened", "escalated"] and kinds[-1] == "reissued"


@pytest.mark.parametrize(("payload", "field"), [
    ({"received_at": "2026-11-23T10:00:01+08:00"}, "received_at"),
    ({"severity": "important", "important_reasons": ["Z"]}, "important_reasons"),
])
def test_bad_input_is_a_400_naming_the_field(api, customer, payload, field):
    data = {"customer": customer.pk, "channel": "phone", "category": "price",
            "description": "贵", **payload}
    response = api.post(BASE, data, format="json")
    assert response.status_code == 400
    assert field in api_errors(response)
    assert not Complaint.objects.exists()


def test_foreign_customer_is_refused(api, foreign_customer):
    response = api.post(BASE, {"customer": foreign_customer.pk, "channel": "phone",
                               "category": "price", "description": "x"}, format="json")
    assert response.status_code == 400 and "customer" in api_errors(response)
    assert not Complaint.objects.exists()


def test_resolve_before_respond_is_a_400(api, open_complaint):
    complaint = open_complaint()
    response = api.post(f"{BASE}{complaint.pk}/resolve/", {"resolution": "x"}, format="json")
    assert response.status_code == 400 and "responded_at" in api_errors(response)


def test_another_stores_complaint_is_404(open_complaint, make_user, other_store, clock):
    complaint = open_complaint()
    client = APIClient()
    client.force_authenticate(make_user(Role.CR_MANAGER, other_store))
    assert client.get(f"{BASE}{complaint.pk}/").status_code == 404
    response = client.post(f"{BASE}{complaint.pk}/respond/", {"channel": "phone", "note": "x"},
                           format="json")
    assert response.status_code == 404
    assert client.get(BASE).data["count"] == 0


def test_department_feedback_needs_the_permission(open_complaint, staff, clock):
    complaint = open_complaint()
    client = APIClient()
    client.force_authenticate(staff["caller"])
    response = client.post(f"{BASE}{complaint.pk}/department-feedback/", {"feedback": "x"},
                           format="json")
    assert response.status_code == 403


def test_list_is_filtered_and_ordered(api, open_complaint):
    open_complaint(department="sales")
    open_complaint(department="service")
    response = api.get(BASE, {"department": "sales"})
    assert response.data["count"] == 1
    assert response.data["results"][0]["sla_state"] == "in_time"


def test_actions_are_in_the_schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    for action in ("respond", "hand-off", "department-feedback", "resolve", "callback",
                   "reissue", "pause", "resume"):
        assert f"/api/v1/complaints/{{id}}/{action}/" in paths


def _important(api, customer):
    response = api.post(BASE, {"customer": customer.pk, "channel": "phone",
                               "category": "technical", "description": "发动机故障灯亮",
                               "severity": "important", "important_reasons": ["B"]},
                        format="json")
    assert response.status_code == 201, response.data
    return f"{BASE}{response.data['id']}/"


DOWNGRADE = {"severity": "general", "important_reasons": [], "category": "technical",
             "note": "客户已撤回起诉"}


def test_a_caller_cannot_quietly_downgrade_an_important_complaint(api, staff, customer, clock):
    url = _important(api, customer)
    caller = APIClient()
    caller.force_authenticate(staff["caller"])
    response = caller.post(url + "classify/", DOWNGRADE, format="json")
    assert response.status_code == 403
    assert "CR主管或总经理" in response.json()["message"]
    complaint = Complaint.objects.get()
    assert complaint.severity == "important"
    assert not complaint.events.filter(kind="classified").exists()


def test_a_downgrade_by_the_cr_manager_needs_a_reason_tells_both_managers_and_is_in_history(
        api, staff, customer, clock):
    from crm_site.models import Notification

    url = _important(api, customer)
    response = api.post(url + "classify/", {**DOWNGRADE, "note": ""}, format="json")
    assert response.status_code == 400 and "note" in api_errors(response)
    assert Complaint.objects.get().severity == "important"
    response = api.post(url + "classify/", DOWNGRADE, format="json")
    assert response.status_code == 200, response.data
    complaint = Complaint.objects.get()
    assert complaint.severity == "general"
    told = Notification.objects.filter(dedupe_key__startswith=f"complaint:{complaint.pk}:downgraded")
    assert {n.user.username for n in told} == {"crm", "gm"}
    assert all("降为一般投诉" in n.title for n in told)
    event = complaint.events.get(kind="classified")
    assert event.actor == staff["crm"] and event.note == "客户已撤回起诉"
    assert event.data["downgraded"] is True and event.data["before"]["severity"] == "important"
    assert complaint.history.filter(severity="important").exists()


def test_the_complaint_page_refuses_a_callers_downgrade(client, api, staff, customer, clock):
    url = _important(api, customer)
    complaint = Complaint.objects.get()
    client.force_login(staff["caller"])
    response = client.post(f"/complaints/{complaint.pk}/classify/", {
        "classify-severity": "general", "classify-category": "technical",
        "classify-note": "不严重"})
    assert response.status_code == 403
    assert "CR主管或总经理" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.severity == "important" and url
