import pytest

from crm_site.roles import Role
from tests.customers.factories import make_customer, make_vehicle


@pytest.fixture
def customer(store):
    return make_customer(store, 1)


@pytest.fixture
def vehicle(customer):
    return make_vehicle(customer, 1)


@pytest.fixture
def other_customer(other_store):
    return make_customer(other_store, 900, name="外店客户")


@pytest.fixture
def specialist(make_user, store):
    return make_user(Role.CR_SPECIALIST, store, username="specialist")


@pytest.fixture
def sales_manager(make_user, store):
    return make_user(Role.SALES_MANAGER, store, username="salesmgr")


@pytest.fixture
def service_manager(make_user, store):
    return make_user(Role.SERVICE_MANAGER, store, username="servicemgr")
