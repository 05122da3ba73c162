import pytest

from crm_site.roles import Role


@pytest.fixture
def general_manager(make_user, store, other_store):
    return make_user(Role.GENERAL_MANAGER, store, other_store, username="gm")


@pytest.fixture
def sales_manager(make_user, store):
    return make_user(Role.SALES_MANAGER, store, username="salesmgr")


@pytest.fixture
def other_manager(make_user, other_store):
    return make_user(Role.CR_MANAGER, other_store, username="crm_b")
