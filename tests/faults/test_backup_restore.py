"""The backup of the README, restored: a pg_dump of a database with data, restored into
a fresh database, and the site started on it (nothing left to migrate, /healthz
answers, a customer's page shows the customer)."""

import subprocess
import sys

import pytest

from crm_site.roles import Role
from tests.customers.factories import make_customer, make_vehicle

from .conftest import BASE_DIR, WEB_PORT, current_database_url, gunicorn, login, site_env, status_of, wait_for
from .dumps import dump, restore

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_dump_restores_into_a_fresh_database_and_the_site_starts(private_postgres, processes, store,
                                                                 make_user, tmp_path):
    manager = make_user(Role.CR_MANAGER, store, username="restore-crm")
    customer = make_customer(store, n=7, name="恢复测试客户")
    make_vehicle(customer, n=7)

    backup = dump(current_database_url(), tmp_path / "crm.dump")
    restored = restore(backup, private_postgres.create_database("crm_restored"))

    env = site_env(restored, "", CELERY_TASK_ALWAYS_EAGER="true")
    check = subprocess.run([sys.executable, "manage.py", "migrate", "--check", "--noinput"],
                           cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr  # nothing to apply

    processes.start("gunicorn", gunicorn(WEB_PORT + 1), env)
    base = f"http://127.0.0.1:{WEB_PORT + 1}"
    wait_for(lambda: status_of(f"{base}/healthz") == 200, 30, "the site on the restored database")
    page = login(base, manager.username).get(f"{base}/customers/{customer.pk}/", timeout=10)
    assert page.status_code == 200
    assert "恢复测试客户" in page.text
