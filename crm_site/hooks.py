"""Hooks: how a floor takes part in the writes of the floor below without that floor
importing it, and without signals.

A lower floor declares a named hook beside the service that writes:

    visit_recorded = Hook("visit recorded")      # customers/hooks.py

and its service calls it explicitly, inside its transaction: `hooks.visit_recorded(visit)`.
A hook refuses to run outside a transaction: the write and every reaction to it are saved
together or not at all, so a failing reaction never leaves a half-done write behind (a
client that retries would otherwise create it twice). A reaction runs inside that
transaction; only work that may safely fail on its own, with a sweep to catch it up,
is deferred with transaction.on_commit(..., robust=True).
A floor above registers its reaction in its AppConfig.ready():

    customer_hooks.visit_recorded.register(my_reaction)

Each hook's module says what its functions receive and what they may do.
"""

from django.db import transaction


class Hook:
    """A list of functions called, in the order registered, when the hook is called."""

    def __init__(self, name):
        self.name = name
        self._functions = []

    def __repr__(self):
        return f"<Hook {self.name}: {len(self._functions)} registered>"

    def register(self, function):
        """Add a function; registering the same function twice has no effect."""
        if function not in self._functions:
            self._functions.append(function)
        return function

    def unregister(self, function):
        if function in self._functions:
            self._functions.remove(function)

    def functions(self):
        return list(self._functions)

    def __call__(self, *args, **kwargs):
        """Call every registered function with these arguments, inside the caller's
        transaction."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError(f"{self!r} called outside a transaction")
        for function in list(self._functions):
            function(*args, **kwargs)


# A customer replied 退订 / TD / T to one of our messages: `hook(reply, changed)` is called
# by crm_site.services.sms_reply_receive inside its transaction with the SmsReply row
# (mobile, store when the extend code names one, or None). The floor that owns the
# customers withdraws their SMS consent through its own consent service and appends
# each customer it changed to the list `changed`.
sms_opt_out = Hook("sms opt-out")  # hook(reply, changed)
