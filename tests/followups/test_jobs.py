"""The nightly job: on the beat schedule at 01:00, as a Celery task and a command."""

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from followups import tasks
from followups.models import Task

from .factories import VehicleFactory
from .helpers import MON, at

pytestmark = pytest.mark.django_db


def test_beat_runs_the_planner_at_one_in_the_morning():
    from django_celery_beat.models import PeriodicTask

    job = PeriodicTask.objects.select_related("crontab").get(name="plan-reminders")
    assert job.task == "followups.tasks.plan_reminders"
    assert (job.crontab.hour, job.crontab.minute, str(job.crontab.timezone)) == (
        "1", "0", "Asia/Shanghai")
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_task_plans_the_day(store, caller):
    import time_machine

    car = VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=14))
    with time_machine.travel(at(MON), tick=False):
        result = tasks.plan_reminders.delay().get()
    assert result["assigned"] == 1
    assert Task.objects.filter(vehicle=car, channel="call", planned_on=MON).exists()


def test_command_refuses_a_bad_date():
    with pytest.raises(CommandError):
        call_command("plan_reminders", "--date", "2026-13-01", stdout=io.StringIO())
