"""The beat schedules as rows (crm_site/schedules.py DEFAULT_JOBS): seeded once, never
overwritten (a row of the same name is left as it is)."""

from django.conf import settings
from django.db import migrations

from crm_site.schedules import DEFAULT_JOBS


def forwards(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    for name, (task, when) in DEFAULT_JOBS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {}
        if "every" in when:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=when["every"], period="seconds")
        else:
            minute, hour, day_of_month = when["crontab"]
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_month=day_of_month, month_of_year="*",
                day_of_week="*", timezone=settings.TIME_ZONE)
        PeriodicTask.objects.create(name=name, task=task, **fields)


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=list(DEFAULT_JOBS)).delete()


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0003_periodic_task_history"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(forwards, backwards)]
