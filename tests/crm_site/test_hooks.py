"""The hook a lower floor calls and the floors above register with."""

import pytest
from django.db import transaction

from crm_site.hooks import Hook


@pytest.mark.django_db
def test_a_hook_calls_what_is_registered_in_order_once_each():
    heard = []
    hook = Hook("something written")

    def first(record, *, why):
        heard.append(("first", record, why))

    def second(record, *, why):
        heard.append(("second", record, why))

    hook.register(first)
    hook.register(second)
    hook.register(first)  # twice adds nothing
    with transaction.atomic():
        hook("row", why="saved")
    assert heard == [("first", "row", "saved"), ("second", "row", "saved")]
    hook.unregister(first)
    hook.unregister(first)  # unknown: nothing happens
    assert hook.functions() == [second]


@pytest.mark.django_db
def test_a_failing_function_stops_the_write_that_called_it():
    hook = Hook("something written")

    def refuse(record):
        raise RuntimeError("floor above refused")

    hook.register(refuse)
    with pytest.raises(RuntimeError), transaction.atomic():
        hook("row")


def test_a_hook_outside_a_transaction_is_refused_before_anything_runs():
    """A write and its reactions are one transaction: a service that forgot its own
    cannot fire a hook whose failure would leave the write half done."""
    heard = []
    hook = Hook("something written")
    hook.register(heard.append)
    with pytest.raises(RuntimeError, match="outside a transaction"):
        hook("row")
    assert heard == []
