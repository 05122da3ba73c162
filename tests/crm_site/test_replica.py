"""A real read replica: a private PostgreSQL primary and a streaming replica made from it
(pg_basebackup -R), from the same binaries as the suite's embedded server. A site process
pointed at both (DATABASE_URL, DATABASE_REPLICA_URL) serves the manager's dashboard from
the replica, while a write and the read of the same record right after it stay on the
primary (tests/crm_site/replica_check.py holds the checks)."""

import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import pytest
from django.conf import settings

from crm_site.embedded import Postgres, pg_bin

pytestmark = pytest.mark.slow


@pytest.fixture
def primary_and_replica():
    root = Path(tempfile.mkdtemp(prefix="replica-pg-"))
    primary = Postgres(root / "primary", fast=True)
    replica = Postgres(root / "replica", fast=True)
    try:
        primary.start()
        primary.create_database("crm")
        replica._prepare()
        replica._run(pg_bin("pg_basebackup"), "-D", str(replica.data), "-h", "127.0.0.1",
                     "-p", str(primary.port), "-U", "postgres", "-R", "-X", "stream")
        replica.start()
        yield primary, replica
    finally:
        for server in (replica, primary):
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def _site(args, primary, replica):
    env = {**os.environ, "DATABASE_URL": primary.url("crm"),
           "DATABASE_REPLICA_URL": replica.url("crm"), "CELERY_TASK_ALWAYS_EAGER": "true",
           "DJANGO_SETTINGS_MODULE": "crm_site.settings.base"}
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True,
                          text=True, cwd=settings.BASE_DIR, timeout=600, check=False)


def test_the_dashboard_reads_the_replica_and_a_write_is_read_back_from_the_primary(
        primary_and_replica):
    primary, replica = primary_and_replica
    migrated = _site(["migrate", "--noinput"], primary, replica)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    script = (Path(__file__).parent / "replica_check.py").read_text()
    checked = _site(["shell", "-c", script], primary, replica)
    assert "REPLICA-CHECK-OK" in checked.stdout, (checked.stdout[-2000:], checked.stderr[-4000:])


def test_without_a_replica_everything_reads_the_primary():
    assert "replica" not in settings.DATABASES
    from crm_site.replica import ReplicaRouter, using_replica

    with using_replica():
        assert ReplicaRouter().db_for_read(None) == "default"
