import pytest

from crm_site.roles import Role


@pytest.fixture
def specialist(make_user, store):
    return make_user(Role.CR_SPECIALIST, store, username="specialist")


@pytest.fixture
def other_caller(make_user, other_store):
    return make_user(Role.CALLER, other_store, username="othercaller")
