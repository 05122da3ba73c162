"""The embedded servers of `make demo` and `make test` (crm_site/embedded.py), and the
start-up error without DATABASE_URL."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings

from crm_site.embedded import Postgres, Redis

pytestmark = pytest.mark.slow


@pytest.fixture
def folder():
    # Outside pytest's root-only tmp folder: the server's own user must reach it.
    path = Path(tempfile.mkdtemp(prefix="embedded-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_server_left_running_is_found_and_reused(folder):
    first = Postgres(folder / "pg", fast=True).start()
    try:
        url = first.create_database("crm")
        # A second start on the same folder, as after a demo killed with its server
        # still up: no second server, no "port in use", the same data.
        again = Postgres(folder / "pg", fast=True).start()
        assert again.port == first.port and again.has_database("crm")
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("SELECT current_setting('server_version_num')::int")
            assert cursor.fetchone()[0] >= 180000
    finally:
        first.stop()
    assert first.running_port() is None


def test_a_stopped_server_starts_again_with_its_data(folder):
    server = Postgres(folder / "pg", fast=True).start()
    server.create_database("kept")
    server.stop()
    server = Postgres(folder / "pg", fast=True).start()
    try:
        assert server.has_database("kept")
    finally:
        server.stop()


def test_the_redis_compatible_server_answers_and_stops(folder):
    server = Redis(folder / "redis").start()
    client = redis.Redis.from_url(server.url)
    assert client.ping() and client.set("k", "v") and client.get("k") == b"v"
    server.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(server.url, socket_connect_timeout=1).ping()


def test_without_database_url_the_site_refuses_to_start_and_names_it():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr
    assert "unset" in result.stderr


def test_a_database_url_of_another_kind_is_refused():
    env = {**os.environ, "DATABASE_URL": "mysql://root@127.0.0.1/crm"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not a postgres:// URL" in result.stderr
