"""Reactions to records of the floor below: a service visit recorded closes the cycles
it answers and credits appointments (after the visit's transaction commits)."""

from django.db import transaction


def on_service_visit_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    from . import services

    vehicle_id, visit_day = instance.vehicle_id, instance.date_in
    transaction.on_commit(
        lambda: services.vehicle_came_in(vehicle_id=vehicle_id, visit_day=visit_day))
