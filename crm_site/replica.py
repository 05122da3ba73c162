"""Reads that may come from a streaming replica (DATABASE_REPLICA_URL): the dashboards,
reports, customer analysis and exports mark themselves with `reads_from_replica` (a view
decorator) or `using_replica()` (a block). Inside such a mark the router sends reads to
the "replica" database, except:

- everything written goes to the primary, and once anything was written inside the mark,
  every later read of it goes to the primary too (a replica may be a moment behind: a
  record just saved must be read back from where it was saved);
- reads inside a transaction of the primary stay on the primary.

Without DATABASE_REPLICA_URL there is no "replica" database and everything reads and
writes the primary, as everywhere outside a mark."""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import connections

REPLICA = "replica"

# None: outside any mark. Otherwise a dict {"wrote": bool} for the current mark.
_mark = ContextVar("replica_mark", default=None)


def replica_configured():
    return REPLICA in settings.DATABASES


@contextmanager
def using_replica():
    """Reads inside the block may come from the replica (see the module's docstring)."""
    outer = _mark.get()
    token = _mark.set(outer if outer is not None else {"wrote": False})
    try:
        yield
    finally:
        _mark.reset(token)


def reads_from_replica(view):
    """A view whose reads may come from the replica."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with using_replica():
            return view(request, *args, **kwargs)
    return wrapped


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads inside a mark to the replica, the rest to the
    primary ("default"); migrations on the primary only (the replica copies them)."""

    def db_for_read(self, model, **hints):
        mark = _mark.get()
        if mark is None or mark["wrote"] or not replica_configured():
            return "default"
        if connections["default"].in_atomic_block:
            return "default"
        return REPLICA

    def db_for_write(self, model, **hints):
        mark = _mark.get()
        if mark is not None:
            mark["wrote"] = True
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
