"""Shared fixtures. The suite runs on PostgreSQL only."""

import os

import hypothesis
import pytest
from django.contrib.auth.models import Group

from crm_site.models import DealerGroup
from crm_site.roles import Role
from crm_site.services import store_create

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Property tests judge behaviour, not speed: a loaded machine must not fail them on
# generation time (speed targets live in bench/).
hypothesis.settings.register_profile(
    "suite", deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.data_too_large])
hypothesis.settings.load_profile("suite")


def pytest_configure(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run on PostgreSQL: set DATABASE_URL (make test does) - "
            f"got {engine}."
        )
    if not settings.REDIS_URL.startswith("redis"):
        raise pytest.UsageError("The tests run against Redis: set REDIS_URL (make test does).")
    from pathlib import Path

    Path(settings.STATIC_ROOT).mkdir(exist_ok=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Transactional tests (live server, real worker, concurrency) flush the database
    afterwards, which would also remove the rows data migrations loaded (roles,
    programmes, SLA policies). Serialized rollback puts them back for the next test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses = set(getattr(item, "fixturenames", ()))
        if marker is not None:
            if marker.kwargs.get("transaction") or uses & {"live_server", "transactional_db"}:
                kwargs = {**marker.kwargs, "serialized_rollback": True}
                item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)
        elif uses & {"live_server", "transactional_db"}:
            item.fixturenames.append("django_db_serialized_rollback")
    # Tests that flush the database run last, browser tests at the very end.
    def weight(item):
        uses = set(getattr(item, "fixturenames", ()))
        marker = item.get_closest_marker("django_db")
        if "live_server" in uses or "page" in uses:
            return 2
        if uses & {"transactional_db"} or (marker and marker.kwargs.get("transaction")):
            return 1
        return 0

    items.sort(key=weight)


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
    from django.core.cache import cache

    cache.clear()  # throttle counts (crm_site.throttling) start afresh in every test
    yield


@pytest.fixture(params=["aliyun", "tencent"])
def sms_fake(request, settings):
    """Each SMS provider in turn, as a local fake of its HTTP API the site sends to
    (tests/crm_site/sms_fakes.py); every request it saw had the documented signature."""
    from tests.crm_site.sms_fakes import serve

    with serve(request.param, settings) as server:
        yield server
    assert server.refused == []


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
def row_count(db):
    """row_count() -> the rows of every table the business writes (not sessions or
    sign-in records), to check that a refused write left none behind."""
    from django.apps import apps
    from django.db import connection

    tables = [model._meta.db_table for model in apps.get_models()
              if model._meta.managed and not model._meta.db_table.startswith(("django_session", "axes_"))]
    sql = " UNION ALL ".join(f'SELECT count(*) AS n FROM "{table}"' for table in tables)

    def count():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT sum(n) FROM ({sql}) AS counts")
            return cursor.fetchone()[0]

    return count


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


# Browser tests: Debian's Chromium driven by pytest-playwright (no browser downloads).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = os.path.join(os.path.dirname(__file__), os.pardir, "test-artifacts", "screenshots")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Make the rows the data migrations loaded (serialized at database creation)
    visible to every connection object. Playwright's sync API runs browser tests in
    another context, where Django would otherwise find no saved rows to restore."""
    from django.db import connection

    saved = getattr(connection, "_test_serialized_contents", None)
    if saved is not None:
        type(connection)._test_serialized_contents = saved


@pytest.fixture(autouse=True)
def _migrated_rows_for_live_server(request):
    """Browser tests: put back the migrated rows when the restore did not reach them."""
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    saved = getattr(connection, "_test_serialized_contents", None)
    if saved and not Group.objects.exists():
        from django.core.management import call_command

        call_command("flush", interactive=False, inhibit_post_migrate=True,
                     reset_sequences=False, verbosity=0)
        connection.creation.deserialize_db_from_string(saved)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"],
    }


@pytest.fixture
def screenshot(page):
    """screenshot(name): save the page as it is now under test-artifacts/screenshots/."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def take(name):
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def phone_page(browser):
    """A page in a phone-sized viewport (390 x 844, touch)."""
    from .browser import VIEWPORTS

    context = browser.new_context(**VIEWPORTS["phone"])
    page = context.new_page()
    page.device = "phone"
    yield page
    context.close()


@pytest.fixture(params=["desktop", "phone"])
def device_page(request, browser):
    """The same journey on a desktop (1366 x 768) and on a phone (390 x 844, touch)."""
    from .browser import VIEWPORTS

    context = browser.new_context(**VIEWPORTS[request.param])
    page = context.new_page()
    page.device = request.param
    yield page
    context.close()


@pytest.fixture
def sequences_after_restore(live_server):
    """When the migrated rows were put back by a flush that reset the id sequences, move
    every table's sequence past the restored ids before a browser test adds rows."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    models = [model for config in apps.get_app_configs() for model in config.get_models()]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
