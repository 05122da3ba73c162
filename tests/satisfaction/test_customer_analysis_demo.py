"""The customer-analysis demo fills every breakdown, once."""

import io
import random

import pytest
from django.utils import timezone

from crm_site.roles import Role
from customers import demo as customers_demo
from satisfaction import demo, rules
from satisfaction.analysis import customer_analysis

pytestmark = pytest.mark.django_db


def test_demo_fills_the_customer_analysis_and_runs_once(store, other_store, make_user):
    staff = {role: make_user(role, store) for role in Role.values}
    today = timezone.localdate()
    context = {"store": store, "other_store": other_store, "staff": staff, "today": today,
               "stdout": io.StringIO(), "customers_demo_size": 60}
    customers_demo.seed(context)
    demo._customer_base(store, staff, today, random.Random(9), context["stdout"])
    demo._customer_base(store, staff, today, random.Random(9), context["stdout"])
    year = customer_analysis(store, rules.parse_span(f"{today.year}"), today=today)
    origin = {row["key"]: row["count"] for row in year.get("service_origin").rows}
    assert origin["own"] > 0 and origin["other"] == 14
    assert all(row["count"] > 0 for row in year.get("service_loyalty").rows)
    assert year.get("lapsed_reason").rows
    assert year.get("sales_interest").rows
