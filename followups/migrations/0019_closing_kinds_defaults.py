"""The visit kinds that end each reminder cycle: a first-service cycle ends with the first
service (a body-and-paint or repair visit no longer does), a periodic-service cycle with
a first or periodic service; the other programmes a visit ends keep "any visit"."""

from django.db import migrations

KINDS = {
    "first_service": ["first_service"],
    "periodic_service": ["first_service", "periodic_service"],
}


def forwards(apps, schema_editor):
    Programme = apps.get_model("followups", "Programme")
    for code, kinds in KINDS.items():
        Programme.objects.filter(code=code, closing_kinds=[]).update(closing_kinds=kinds)


class Migration(migrations.Migration):
    dependencies = [("followups", "0018_visit_kinds")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
