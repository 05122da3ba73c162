"""A 4S store works every day: the shipped Monday-to-Friday 08:30-17:30 hours become the
call centre's (closed on statutory holidays, as before) and the store opens every day
08:30-18:00, holidays included. A store whose hours were changed keeps them (and its
holidays off); its call centre takes the same hours. The group admin may enter years."""

import datetime

from django.db import migrations

from crm_site.roles import Role, grant_permissions

SHIPPED = {(day, datetime.time(8, 30), datetime.time(17, 30)) for day in range(5)}


def forwards(apps, schema_editor):
    OpeningHours = apps.get_model("crm_site", "OpeningHours")
    Store = apps.get_model("crm_site", "Store")
    for store in Store.objects.all():
        rows = list(OpeningHours.objects.filter(store=store, activity="store"))
        OpeningHours.objects.bulk_create(
            [OpeningHours(store=store, activity="calls", weekday=row.weekday, opens=row.opens,
                          closes=row.closes, on_holidays=False) for row in rows],
            ignore_conflicts=True)
        if {(row.weekday, row.opens, row.closes) for row in rows} == SHIPPED:
            OpeningHours.objects.filter(store=store, activity="store").delete()
            OpeningHours.objects.bulk_create(
                OpeningHours(store=store, activity="store", weekday=day, opens=datetime.time(8, 30),
                             closes=datetime.time(18, 0), on_holidays=True) for day in range(7))
        else:
            OpeningHours.objects.filter(store=store, activity="store").update(on_holidays=False)
    grant_permissions(apps, "crm_site", {
        str(Role.GENERAL_MANAGER): ["manage_calendar_year", "view_calendaryear"],
        # Every manager is warned while next year's calendar is missing.
        str(Role.CR_MANAGER): ["view_calendaryear"],
        str(Role.SALES_MANAGER): ["view_calendaryear"],
        str(Role.SERVICE_MANAGER): ["view_calendaryear"],
    })


def backwards(apps, schema_editor):
    OpeningHours = apps.get_model("crm_site", "OpeningHours")
    OpeningHours.objects.exclude(activity="store").delete()


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0003_store_calendars")]
    operations = [migrations.RunPython(forwards, backwards)]
