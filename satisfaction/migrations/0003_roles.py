"""Who may do what with satisfaction records."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

VIEW = ["view_manufacturerreport", "view_itemscore", "view_weakitem", "view_improvementplan",
        "view_countermeasure", "view_analysismeeting", "view_target", "view_scoreimport",
        "view_mysteryshopcheck", "view_mysteryshopresult", "view_mysteryshopitem",
        "view_satisfactionpolicy"]
MANAGER = VIEW + [
    "view_dashboard", "view_group", "add_scoreimport", "change_target", "add_target",
    "delete_target", "change_satisfactionpolicy", "add_satisfactionpolicy",
    "change_analysismeeting", "add_improvementplan", "change_improvementplan",
    "approve_improvementplan", "close_improvementplan", "add_countermeasure",
    "change_countermeasure", "add_mysteryshopcheck", "add_mysteryshopitem",
    "change_mysteryshopitem",
]
DEPARTMENT_HEAD = VIEW + [
    "view_dashboard", "add_improvementplan", "change_improvementplan", "add_countermeasure",
    "change_countermeasure", "add_mysteryshopcheck",
]
CR_STAFF = ["view_mysteryshopcheck", "view_mysteryshopitem", "add_mysteryshopcheck"]

PERMISSIONS = {
    Role.CR_MANAGER: MANAGER,
    Role.GENERAL_MANAGER: MANAGER,
    Role.SALES_MANAGER: DEPARTMENT_HEAD,
    Role.SERVICE_MANAGER: DEPARTMENT_HEAD,
    Role.CALLER: CR_STAFF,
    Role.CR_SPECIALIST: CR_STAFF,
}


def forwards(apps, schema_editor):
    grant_permissions(apps, "satisfaction", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="satisfaction")
    for group in Group.objects.filter(name__in=Role.values):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("satisfaction", "0002_defaults"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
