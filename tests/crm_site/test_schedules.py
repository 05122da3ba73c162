"""The beat schedules are rows: seeded once by a data migration, changed by the group
administrator on the schedules page with a note, kept as they are when beat starts
again; `run_jobs --only NAME` runs one job."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm_site import services
from crm_site.celery import app
from crm_site.roles import Role
from crm_site.schedules import DEFAULT_JOBS

pytestmark = pytest.mark.django_db
URL = reverse("schedule-settings")
CRON = {"minute": "0", "hour": "1", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}


@pytest.fixture
def admin(make_user):
    return make_user(None, is_superuser=True, username="group-admin")


def _planner():
    return PeriodicTask.objects.select_related("crontab").get(name="plan-reminders")


def test_every_job_is_a_seeded_row():
    rows = {job.name: job for job in PeriodicTask.objects.select_related("crontab", "interval")}
    assert set(DEFAULT_JOBS) <= set(rows)
    planner = rows["plan-reminders"]
    assert (planner.task, planner.crontab.hour, planner.crontab.minute) == (
        "followups.tasks.plan_reminders", "1", "0")
    assert str(planner.crontab.timezone) == "Asia/Shanghai"
    assert rows["complaints-sla-sweep"].interval.every == 60


@pytest.mark.django_db(transaction=True)  # beat closes a connection held in a transaction
def test_a_beat_restart_keeps_an_edited_schedule(admin):
    services.schedule_update(actor=admin, job=_planner(), note="夜间备份后再排计划",
                             enabled=True, **{**CRON, "hour": "2", "minute": "30"})
    DatabaseScheduler(app=app)  # what `celery beat` does when it starts
    DatabaseScheduler(app=app)
    planner = _planner()
    assert (planner.crontab.hour, planner.crontab.minute) == ("2", "30")
    record = planner.history.latest()
    assert (record.history_user, record.history_change_reason) == (admin, "夜间备份后再排计划")


def test_bad_times_and_other_roles_are_refused(admin, make_user, store):
    with pytest.raises(ValidationError) as info:
        services.schedule_update(actor=admin, job=_planner(), note="x", enabled=True,
                                 **{**CRON, "hour": "25"})
    assert "hour" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.schedule_update(actor=admin, job=_planner(), note="", enabled=True, **CRON)
    assert "note" in info.value.message_dict
    manager = make_user(Role.CR_MANAGER, store)
    with pytest.raises(PermissionDenied):
        services.schedule_update(actor=manager, job=_planner(), note="x", enabled=True, **CRON)
    assert _planner().crontab.hour == "1"


def test_the_page_changes_a_job_and_lists_what_changed(client, admin, make_user, store):
    client.force_login(admin)
    job = _planner()
    response = client.post(URL, {"edit": job.pk, "enabled": "on", **{**CRON, "hour": "3"},
                                 "note": "改到三点"})
    assert response.status_code == 302
    assert _planner().crontab.hour == "3"
    page = client.get(URL).content.decode()
    assert "改到三点" in page and "plan-reminders" in page
    client.force_login(make_user(Role.GENERAL_MANAGER, store))
    assert client.get(URL).status_code == 403


def test_run_jobs_only_runs_one_job(capsys):
    call_command("run_jobs", only="satisfaction-staff-greetings")
    out = capsys.readouterr().out
    assert out.startswith("satisfaction-staff-greetings:")
    assert "plan-reminders" not in out
    with pytest.raises(CommandError, match="plan-reminders"):
        call_command("run_jobs", only="no-such-job")
