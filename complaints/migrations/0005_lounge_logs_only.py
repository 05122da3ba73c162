"""The lounge attendant logs what a visitor complains about, but does not read the
complaints board: complaints name customers and staff, carry the department's handling
and the customer's words, and the lounge needs none of that for its work. The attendant
keeps `add_complaint`; reading complaints, their events and adding attachments to them
are taken back."""

from django.db import migrations

from crm_site.roles import Role

TAKEN = ["view_complaint", "view_complaintevent", "add_complaintattachment"]


def _permissions(apps):
    return apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="complaints", codename__in=TAKEN)


def forwards(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=Role.LOUNGE_ATTENDANT).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


def backwards(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=Role.LOUNGE_ATTENDANT).first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [("complaints", "0004_classify_event_and_warning_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
