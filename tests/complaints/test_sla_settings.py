"""A store's own SLA policy: set by its CR manager on the settings page or through the
API, with a change note in the history; new complaints of that store run on it while
the other stores keep the group's policy."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services
from complaints.models import SlaPolicy
from crm_site.roles import Role

from .conftest import T0
from .factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("complaints:sla-settings")


def _open(actor, store):
    return services.complaint_open(actor=actor, customer=CustomerFactory(store=store),
                                   channel="phone", category="service_quality",
                                   description="保养后异响")


def _fields(**changes):
    values = {"response_minutes": 30, "resolution_minutes": 1440, "department_days": 3,
              "warning_percent": 80, "repeat_window_days": 90}
    values.update(changes)
    return values


def test_a_store_override_gives_its_new_complaints_the_store_clock(
        cr_manager, make_user, store, other_store, clock):
    other_caller = make_user(Role.CALLER, other_store)
    services.sla_policy_set(actor=cr_manager, store=store, severity="general",
                            note="总部要求20分钟内响应", **_fields(response_minutes=20))
    ours, theirs = _open(cr_manager, store), _open(other_caller, other_store)
    assert ours.response_due_at == T0 + timedelta(minutes=20)
    assert ours.response_warn_at == T0 + timedelta(minutes=16)
    assert theirs.response_due_at == T0 + timedelta(minutes=30)
    important = services.complaint_open(
        actor=cr_manager, customer=CustomerFactory(store=store), channel="phone",
        category="product", description="刹车失灵", severity="important", important_reasons="A")
    assert important.response_due_at == T0 + timedelta(minutes=30)  # not overridden


def test_the_first_change_copies_the_group_row_and_keeps_the_note(cr_manager, store):
    SlaPolicy.objects.filter(store=None, severity="general").update(repeat_window_days=60)
    policy = services.sla_policy_set(actor=cr_manager, store=store, severity="general",
                                     note="试行", response_minutes=25)
    assert (policy.store, policy.response_minutes, policy.repeat_window_days) == (store, 25, 60)
    record = policy.history.get()
    assert (record.history_user, record.history_change_reason) == (cr_manager, "试行")
    group = SlaPolicy.objects.get(store=None, severity="general")
    assert group.response_minutes == 30


def test_bad_values_and_missing_notes_are_refused_naming_the_field(cr_manager, store):
    with pytest.raises(ValidationError) as info:
        services.sla_policy_set(actor=cr_manager, store=store, severity="general", note="",
                                response_minutes=20)
    assert "note" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.sla_policy_set(actor=cr_manager, store=store, severity="general", note="x",
                                response_minutes=0, warning_percent=100)
    assert {"response_minutes", "warning_percent"} <= set(info.value.message_dict)
    assert not SlaPolicy.objects.filter(store=store).exists()


def test_other_stores_and_the_group_rows_are_refused(cr_manager, caller, store, other_store,
                                                     make_user):
    with pytest.raises(ValidationError) as info:
        services.sla_policy_set(actor=cr_manager, store=other_store, severity="general",
                                note="x", response_minutes=10)
    assert "store" in info.value.message_dict
    with pytest.raises(PermissionDenied):
        services.sla_policy_set(actor=cr_manager, store=None, severity="general", note="x",
                                response_minutes=10)
    with pytest.raises(PermissionDenied):
        services.sla_policy_set(actor=caller, store=store, severity="general", note="x",
                                response_minutes=10)
    admin = make_user(None, is_superuser=True)
    services.sla_policy_set(actor=admin, store=None, severity="general", note="集团调整",
                            response_minutes=45)
    assert services.policy_for("general", other_store).response_minutes == 45


def test_the_page_saves_a_store_policy_and_lists_what_changed(client, cr_manager, store):
    client.force_login(cr_manager)
    page = client.get(URL).content.decode()
    assert "沿用集团默认" in page
    data = {"scope": store.pk, "severity": "general", "note": "试行20分钟",
            **{f"general-{k}": v for k, v in _fields(response_minutes=20).items()},
            "general-note": "试行20分钟"}
    response = client.post(URL, data)
    assert response.status_code == 302
    assert SlaPolicy.objects.get(store=store, severity="general").response_minutes == 20
    page = client.get(URL).content.decode()
    assert "本店规则" in page and "试行20分钟" in page and "30" in page


def test_the_page_shows_errors_next_to_the_field_and_saves_nothing(client, cr_manager, store):
    client.force_login(cr_manager)
    data = {"scope": store.pk, "severity": "general",
            **{f"general-{k}": v for k, v in _fields(warning_percent=120).items()}}
    response = client.post(URL, data)
    assert response.status_code == 200
    form = response.context["forms"]
    errors = next(iter(form))["form"].errors
    assert "warning_percent" in errors and "note" in errors
    assert not SlaPolicy.objects.filter(store=store).exists()


def test_the_page_runs_a_fixed_number_of_queries(client, cr_manager, store):
    client.force_login(cr_manager)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(5):
        services.sla_policy_set(actor=cr_manager, store=store, severity="general",
                                note=f"第{n}次", response_minutes=20 + n)
        services.sla_policy_set(actor=cr_manager, store=store, severity="important",
                                note=f"第{n}次", response_minutes=10 + n)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_api_lists_and_sets_policies(client, cr_manager, store, other_store):
    client.force_login(cr_manager)
    response = client.post("/api/v1/sla-policies/", {
        "store": store.pk, "severity": "general", "note": "接口修改",
        **_fields(response_minutes=20)}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["response_minutes"] == 20
    rows = client.get("/api/v1/sla-policies/").json()["results"]
    assert {(r["store"], r["severity"]) for r in rows} == {
        (None, "general"), (None, "important"), (store.pk, "general")}
    response = client.post("/api/v1/sla-policies/", {
        "store": other_store.pk, "severity": "general", "note": "x", **_fields()},
        content_type="application/json")
    assert response.status_code == 400 and "store" in response.json()["fields"]
