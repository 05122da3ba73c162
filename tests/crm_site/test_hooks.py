"""The hook a lower floor calls and the floors above register with."""

import pytest

from crm_site.hooks import Hook


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
    hook("row", why="saved")
    assert heard == [("first", "row", "saved"), ("second", "row", "saved")]
    hook.unregister(first)
    hook.unregister(first)  # unknown: nothing happens
    assert hook.functions() == [second]


def test_a_failing_function_stops_the_write_that_called_it():
    hook = Hook("something written")

    def refuse(record):
        raise RuntimeError("floor above refused")

    hook.register(refuse)
    with pytest.raises(RuntimeError):
        hook("row")
