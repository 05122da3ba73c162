"""PostgreSQL restarted under a running site (gunicorn, persistent connections): while
the database is down every request answers at once with a clean error page, and once it
is back requests succeed again without restarting the site."""

import time
import urllib.error
import urllib.request

import pytest

from crm_site.roles import Role
from tests.customers.factories import make_customer

from .conftest import WEB_PORT, gunicorn, site_env, wait_for
from .dumps import clone_into

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def get(url, headers=None, timeout=10):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return None, ""


def test_site_recovers_after_postgres_restart(private_postgres, processes, store, make_user):
    from rest_framework.authtoken.models import Token

    manager = make_user(Role.CR_MANAGER, store, username="pg-restart")
    make_customer(store, n=1)
    token = Token.objects.create(user=manager).key
    database_url = clone_into(private_postgres, "site_restart")
    # Persistent connections (CONN_MAX_AGE): a connection opened before the restart is
    # dead afterwards; CONN_HEALTH_CHECKS must notice and open a new one.
    env = site_env(database_url, "", DATABASE_CONN_MAX_AGE="600", CELERY_TASK_ALWAYS_EAGER="true")
    processes.start("gunicorn", gunicorn(WEB_PORT), env)
    base = f"http://127.0.0.1:{WEB_PORT}"
    api = f"{base}/api/v1/customers/"
    auth = {"Authorization": f"Token {token}"}
    wait_for(lambda: get(f"{base}/healthz")[0] == 200, 30, "the site to answer")
    assert get(api, auth)[0] == 200

    # Restarted between two requests: the worker's open connection is dead; the first
    # request afterwards succeeds all the same (the health check replaces it).
    private_postgres.stop(mode="fast")
    private_postgres.start()
    status, body = get(api, auth)
    assert status == 200, body[:500]

    # Down for a while: requests fail at once with an error page, never hang.
    private_postgres.stop(mode="fast")
    try:
        for url in (api, f"{base}/healthz"):
            started = time.monotonic()
            status, body = get(url, auth)
            assert time.monotonic() - started < 5, "a request hung while the database was down"
            assert status in (500, 503), (url, status, body[:300])
            assert "Traceback" not in body
        assert get(f"{base}/healthz")[0] == 503
    finally:
        private_postgres.start()

    # The very first request after the restart succeeds: no site restart, no stale connection.
    status, body = get(api, auth)
    assert status == 200, body[:500]
    assert '"count":1' in body.replace(" ", "")
    assert get(f"{base}/healthz")[0] == 200
