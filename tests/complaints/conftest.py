"""Fixtures of the complaints tests: customers, staff of every role a complaint touches,
and a complaint opened at a fixed moment."""

from datetime import UTC, datetime

import pytest
import time_machine

from complaints import services
from crm_site.roles import Role

from .factories import CustomerFactory, VehicleFactory

T0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store, name="张三")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(customer=customer)


@pytest.fixture
def foreign_customer(other_store):
    return CustomerFactory(store=other_store, name="李四")


@pytest.fixture
def service_manager(make_user, store):
    return make_user(Role.SERVICE_MANAGER, store, username="svc")


@pytest.fixture
def general_manager(make_user, store):
    return make_user(Role.GENERAL_MANAGER, store, username="gm")


@pytest.fixture
def staff(cr_manager, caller, service_manager, general_manager):
    return {"crm": cr_manager, "caller": caller, "svc": service_manager, "gm": general_manager}


@pytest.fixture
def clock():
    """A frozen clock at T0; clock.move_to(instant) moves it."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def open_complaint(staff, customer, clock):
    def make(**fields):
        values = {"actor": staff["caller"], "customer": customer, "channel": "phone",
                  "category": "service_quality", "description": "保养后异响"}
        values.update(fields)
        return services.complaint_open(**values)

    return make
