"""Jobs added to crm_site/schedules.py after the schedules became rows (robot posts, SMS
polling, the calendar-year check, the planner-night check): seeded where missing, as
0004 does; rows already there are left as they are."""

from importlib import import_module

from django.db import migrations


def forwards(apps, schema_editor):
    import_module("crm_site.migrations.0004_beat_schedules").forwards(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0007_merge_0006_merge_import_jobs_0006_password_reset")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
