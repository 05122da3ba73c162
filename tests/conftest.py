"""Shared fixtures. The suite runs on PostgreSQL only: it refuses SQLite."""

import os

import pytest
from django.contrib.auth.models import Group

from crm_site.models import DealerGroup
from crm_site.roles import Role
from crm_site.services import store_create

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run on PostgreSQL: set DATABASE_URL (make test does) - "
            f"got {engine}."
        )
    from pathlib import Path

    Path(settings.STATIC_ROOT).mkdir(exist_ok=True)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.SMS_BACKEND = "crm_site.sms.LocmemBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.AXES_ENABLED = True
    from crm_site.sms import LocmemBackend

    LocmemBackend.outbox = []
    LocmemBackend.fail_for = set()
    yield


@pytest.fixture
def dealer_group(db):
    return DealerGroup.objects.create(name="测试集团")


@pytest.fixture
def store(dealer_group):
    return store_create(group=dealer_group, code="store-a", name="A店", sms_sign_name="A店")


@pytest.fixture
def other_store(dealer_group):
    return store_create(group=dealer_group, code="store-b", name="B店", sms_sign_name="B店")


@pytest.fixture
def make_user(db, django_user_model):
    """make_user(role, *stores, username=None) -> a member of staff with that role."""
    counter = {"n": 0}

    def make(role=None, *stores, username=None, **fields):
        counter["n"] += 1
        user = django_user_model.objects.create_user(
            username=username or f"{role or 'user'}{counter['n']}", password="Secret-pass-42",
            last_name="测", first_name=f"试{counter['n']}", **fields,
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        user.stores.add(*stores)
        return user

    return make


@pytest.fixture
def cr_manager(make_user, store):
    return make_user(Role.CR_MANAGER, store, username="crm")


@pytest.fixture
def caller(make_user, store):
    return make_user(Role.CALLER, store, username="caller")


@pytest.fixture
def manager_client(client, cr_manager):
    client.force_login(cr_manager)
    return client
