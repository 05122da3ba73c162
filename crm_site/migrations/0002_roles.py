"""The roles of DOMAIN.md section 1 as groups, with their site-wide permissions."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

MANAGE = ["manage_staff", "reveal_personal_data", "view_message", "view_store", "change_store",
          "view_openinghours", "add_openinghours", "change_openinghours", "delete_openinghours",
          "view_calendaroverride", "add_calendaroverride", "change_calendaroverride",
          "delete_calendaroverride", "view_user"]
CR_STAFF = ["view_message", "view_store"]

PERMISSIONS = {
    Role.CR_MANAGER: MANAGE,
    Role.GENERAL_MANAGER: MANAGE,
    Role.CALLER: CR_STAFF,
    Role.CR_SPECIALIST: CR_STAFF,
    Role.LOUNGE_ATTENDANT: ["view_store"],
    Role.SALES_MANAGER: ["view_store"],
    Role.SERVICE_MANAGER: ["view_store"],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, "crm_site", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=Role.values).delete()


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
