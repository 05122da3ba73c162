"""What the floors above do when a record of this floor is written, called explicitly by
the service that writes it (no signals).

customers never imports followups or the floors above it; instead each of them registers
a hook in its AppConfig.ready():

    from customers import hooks
    hooks.register_visit_recorded(my_hook)

A "visit recorded" hook is `hook(visit)`, called inside the service's transaction after
the visit and the vehicle's dates are saved; a hook that starts work over many rows
defers it with transaction.on_commit. Every service that creates service visits (the
form, the API, the DMS import) goes through customers.services.service_visit_record.
"""

_visit_recorded = []


def register_visit_recorded(hook):
    """Add a hook; registering the same function twice has no effect."""
    if hook not in _visit_recorded:
        _visit_recorded.append(hook)
    return hook


def unregister_visit_recorded(hook):
    if hook in _visit_recorded:
        _visit_recorded.remove(hook)


def visit_recorded_hooks():
    return list(_visit_recorded)


def visit_recorded(visit):
    """Run every registered hook for a visit just recorded."""
    for hook in list(_visit_recorded):
        hook(visit)
