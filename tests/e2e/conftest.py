"""Fixtures of the journeys: the staff of one store, each with the role they sign in
with, and the rows their day starts from."""

import pytest

from crm_site.roles import Role


@pytest.fixture
def staff(sequences_after_restore, make_user, store):
    """One member of staff per role the journeys sign in as (password Secret-pass-42)."""
    return {
        "caller": make_user(Role.CALLER, store, username="caller"),
        "crm": make_user(Role.CR_MANAGER, store, username="crm"),
        "svc": make_user(Role.SERVICE_MANAGER, store, username="svc"),
        "gm": make_user(Role.GENERAL_MANAGER, store, username="gm"),
    }


@pytest.fixture
def call_task(store):
    """call_task(programme, step, assignee, due_on, vehicle=None) -> an open call planned
    for today, as the nightly planner leaves it."""
    from django.utils import timezone

    from followups.models import Step, Task

    from ..followups.factories import VehicleFactory

    def make(programme, step, assignee, due_on, vehicle=None):
        step = Step.objects.select_related("programme").get(programme__code=programme, code=step)
        vehicle = vehicle or VehicleFactory(store=store)
        today = timezone.localdate()
        return Task.objects.create(
            store=store, programme=step.programme, programme_code=programme, step=step,
            customer=vehicle.customer, vehicle=vehicle, due_on=due_on,
            offset_days=(today - due_on).days, planned_on=today, channel=step.channel,
            assignee=assignee)

    return make
