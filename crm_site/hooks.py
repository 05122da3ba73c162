"""Hooks: how a floor takes part in the writes of the floor below without that floor
importing it, and without signals.

A lower floor declares a named hook beside the service that writes:

    visit_recorded = Hook("visit recorded")      # customers/hooks.py

and its service calls it explicitly, inside its transaction: `hooks.visit_recorded(visit)`.
A floor above registers its reaction in its AppConfig.ready():

    customer_hooks.visit_recorded.register(my_reaction)

Each hook's module says what its functions receive and what they may do.
"""


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
        """Call every registered function with these arguments."""
        for function in list(self._functions):
            function(*args, **kwargs)
