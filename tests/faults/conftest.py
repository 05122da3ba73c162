"""Private servers for the fault tests: a PostgreSQL cluster (initdb + pg_ctl in a
temporary folder) and a redis-server, on ports of their own, so a test may stop and
start them without touching the shared 5432 and 6379. Every process a test starts is
ended when the test ends, passed or failed."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "56379"))
WEB_PORT = int(os.environ.get("FAULTS_WEB_PORT", "8150"))


def pg_bin(name):
    """A PostgreSQL program: from PG_BIN, Debian's versioned folder (not on PATH) or PATH."""
    for folder in (os.environ.get("PG_BIN"), "/usr/lib/postgresql/15/bin"):
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed")
    return found


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A throwaway cluster. PostgreSQL refuses to run as root: then it runs as the
    postgres system user (which the server package creates)."""

    def __init__(self, root, port):
        self.root, self.port = Path(root), port
        self.data = self.root / "data"
        self.as_user = []
        if os.geteuid() == 0:
            owner = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.root, owner)
            self.root.chmod(0o700)
            self.as_user = ["runuser", "-u", owner, "--"]

    def _run(self, *args, timeout=60):
        subprocess.run([*self.as_user, *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def init(self):
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        return self

    def start(self):
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "30", "start")
        wait_for(self.ready, 30, f"PostgreSQL on {self.port}")
        return self

    def stop(self, mode="fast"):
        if (self.data / "postmaster.pid").exists():
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def ready(self):
        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", connect_timeout=1).close()
            return True
        except psycopg2.OperationalError:
            return False

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name):
        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return self.url(name)


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class PrivateRedis:
    """A redis-server without persistence, stopped and started again on the same port."""

    def __init__(self, root, port):
        self.root, self.port, self.process = Path(root), port, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 15, f"redis-server on {self.port}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None


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
        server.init().start()
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
