"""Check times and fix minutes are set by the CR manager on settings pages, each change
with a note, for her own store only; the group's rows stay the default of the others."""

from datetime import time

import pytest
from django.urls import reverse

from inspections import rules, services
from inspections.models import Area, DeadlinePolicy, RoundRule

pytestmark = pytest.mark.django_db
TIMES = reverse("inspections:check-times")
MINUTES = reverse("inspections:fix-minutes")


def test_a_store_sets_its_own_fix_minutes_for_display_cars(client, cr_manager, store, other_store):
    client.force_login(cr_manager)
    assert "10" in client.get(MINUTES).content.decode()
    response = client.post(MINUTES, {"store": store.pk, "area": Area.DISPLAY_CARS,
                                     "severity": "minor", "minutes": 15,
                                     "change_note": "展车清洁需要更多时间"})
    assert response.status_code == 302, response.context["form"].errors
    row = DeadlinePolicy.objects.get(store=store)
    assert row.history.get().history_change_reason == "展车清洁需要更多时间"
    policies = services._policies()
    args = {"area": Area.DISPLAY_CARS, "severity": "minor"}
    assert rules.deadline_minutes(policies, store_id=store.pk, **args) == 15
    assert rules.deadline_minutes(policies, store_id=other_store.pk, **args) == 10
    page = client.get(MINUTES).content.decode()
    assert "展车清洁需要更多时间" in page


def test_the_group_rows_and_other_stores_are_refused(client, cr_manager, other_store):
    client.force_login(cr_manager)
    group_row = DeadlinePolicy.objects.filter(store=None).first()
    response = client.post(MINUTES, {"edit": group_row.pk, "area": group_row.area,
                                     "severity": group_row.severity, "minutes": 1,
                                     "change_note": "试"})
    assert response.status_code == 200
    assert response.context["form"].errors
    response = client.post(MINUTES, {"store": other_store.pk, "severity": "minor",
                                     "minutes": 5, "change_note": "试"})
    assert "store" in response.context["form"].errors
    group_row.refresh_from_db()
    assert group_row.minutes != 1 and not DeadlinePolicy.objects.filter(minutes=5).exists()


def test_a_check_time_moves_with_a_note_and_a_missing_note_is_refused(client, cr_manager,
                                                                      checklists):
    client.force_login(cr_manager)
    rule = RoundRule.objects.filter(template=checklists[Area.DISPLAY_CARS]).order_by(
        "time_of_day").first()
    data = {"edit": rule.pk, "template": rule.template_id, "time_of_day": "09:30",
            "is_active": "on", "change_note": ""}
    response = client.post(TIMES, data)
    assert "change_note" in response.context["form"].errors
    rule.refresh_from_db()
    assert rule.time_of_day == time(9, 0)
    response = client.post(TIMES, {**data, "change_note": "早会后检查"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.time_of_day == time(9, 30)
    page = client.get(TIMES).content.decode()
    assert "早会后检查" in page and "09:30" in page


def test_staff_without_the_permission_are_refused(client, caller):
    client.force_login(caller)
    assert client.get(TIMES).status_code == 403
    assert client.get(MINUTES).status_code == 403


def test_the_settings_menu_lists_the_pages_the_role_may_change(client, cr_manager, caller):
    client.force_login(cr_manager)
    page = client.get(reverse("home"), follow=True).content.decode()
    for url in (TIMES, MINUTES, reverse("complaints:sla-settings"),
                reverse("satisfaction:band-settings"), reverse("followups:programmes")):
        assert url in page
    client.force_login(caller)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert TIMES not in page and reverse("complaints:sla-settings") not in page
