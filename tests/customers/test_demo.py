"""Demo data: due dates across the coming weeks, deterministic and idempotent."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management.base import OutputWrapper
from django.utils import timezone

from crm_site.roles import Role
from customers import demo
from customers.models import Customer, InsurancePolicy, Sale, ServiceVisit, Vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_context(store, other_store, make_user):
    staff = {role.value: make_user(role.value, store) for role in Role}
    assert Group.objects.filter(name=Role.CALLER).exists()
    return {"store": store, "other_store": other_store, "staff": staff,
            "today": timezone.localdate(), "stdout": OutputWrapper(io.StringIO()),
            "customers_demo_size": 60}


def _snapshot():
    return (Customer.objects.count(), Vehicle.objects.count(), Sale.objects.count(),
            ServiceVisit.objects.count(), InsurancePolicy.objects.count(),
            sorted(Customer.objects.values_list("mobile", flat=True)))


def test_demo_seeds_due_work_and_is_idempotent(demo_context):
    demo.seed(demo_context)
    first = _snapshot()
    assert first[0] >= 60
    today = demo_context["today"]
    soon = today + timedelta(days=60)
    for column in ("first_service_due_on", "next_service_due_on", "insurance_expires_on"):
        assert Vehicle.objects.filter(**{f"{column}__gte": today, f"{column}__lte": soon}).exists(), column
    assert Vehicle.objects.filter(last_visit_on__lt=today - timedelta(days=183)).exists()
    demo.seed(demo_context)
    assert _snapshot() == first
