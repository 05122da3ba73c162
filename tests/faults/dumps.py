"""Backups as the README describes them: pg_dump's custom format, pg_restore into a
fresh database."""

import subprocess

from .conftest import current_database_url, pg_bin


def dump(database_url, path):
    subprocess.run([pg_bin("pg_dump"), "--format=custom", "--no-owner", "--file", str(path),
                    database_url], check=True, timeout=120)
    return path


def restore(path, database_url):
    subprocess.run([pg_bin("pg_restore"), "--no-owner", "--exit-on-error", "--dbname",
                    database_url, str(path)], check=True, timeout=120)
    return database_url


def clone_into(server, name, tmp_dir=None):
    """The test database as it is now (committed rows), restored into a new database of
    the private server; returns its URL."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = dump(current_database_url(), Path(tmp_dir or folder) / f"{name}.dump")
        return restore(path, server.create_database(name))
