"""The demo complaints: every SLA state on the board, and idempotent."""

import io

import pytest
from django.utils import timezone

from complaints import demo
from complaints.models import Complaint
from crm_site.roles import Role

pytestmark = pytest.mark.django_db


def test_demo_shows_every_state_and_runs_once(store, other_store, make_user, clock):
    staff = {role: make_user(role, store) for role in Role.values}
    context = {"store": store, "other_store": other_store, "staff": staff,
               "today": timezone.localdate(), "stdout": io.StringIO()}
    demo.seed(context)
    demo.seed(context)
    complaints = list(Complaint.objects.filter(store=store))
    assert len(complaints) == len(demo.SCENARIOS)
    now = timezone.now()
    states = {c.sla_state(now) for c in complaints}
    assert states == {"in_time", "warning", "breached"}
    assert any(c.is_paused for c in complaints)
    assert any(c.round == 2 for c in complaints)
    assert any(c.severity == "important" for c in complaints)
