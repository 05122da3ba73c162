"""`python -m crm_site.check_services`: stop with one clear line when PostgreSQL or
Redis is not reachable, instead of failing later."""

import os
import sys
from urllib.parse import urlparse


def main():
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/crm "
                 "(unset it and `make test` starts an embedded server)")
    try:
        import psycopg2

        parsed = urlparse(database_url)
        connection = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432,
                                      user=parsed.username, password=parsed.password,
                                      dbname="postgres", connect_timeout=3)
    except Exception as error:  # noqa: BLE001
        sys.exit(f"PostgreSQL is not reachable at {database_url} ({error.__class__.__name__}): "
                 "start it (e.g. `sudo service postgresql start`), unset DATABASE_URL for an embedded "
                 "server, or `docker compose up -d db redis`.")
    _create_database(connection, parsed.path.lstrip("/"))
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as error:  # noqa: BLE001
        sys.exit(f"Redis is not reachable at {redis_url} ({error.__class__.__name__}): "
                 "start it (e.g. `redis-server --daemonize yes`), unset REDIS_URL for an embedded "
                 "server, or `docker compose up -d db redis`.")


def _create_database(connection, name):
    """The first run on a new machine creates the (empty) database the URL names."""
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            from psycopg2 import sql

            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")
    connection.close()


if __name__ == "__main__":
    main()
