"""Who may do what with inspections. CR specialists and the CR manager inspect and
re-check; anyone named responsible fixes their own rectifications; managers read the
figures of their stores and the CR manager edits the store's checklists."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

READ = ["view_checklisttemplate", "view_checklistitem", "view_roundrule", "view_deadlinepolicy",
        "view_inspection", "view_inspectionresult", "view_rectification", "view_photo"]
INSPECT = READ + ["perform_inspection", "verify_rectification", "fix_rectification"]
EDIT = ["change_checklisttemplate", "add_checklistitem", "change_checklistitem", "add_roundrule",
        "change_roundrule", "add_deadlinepolicy", "change_deadlinepolicy"]
REPORTS = ["view_inspection_reports"]
FIX = ["fix_rectification"]

PERMISSIONS = {
    Role.CR_MANAGER: INSPECT + EDIT + REPORTS,
    Role.CR_SPECIALIST: INSPECT,
    Role.GENERAL_MANAGER: READ + REPORTS + FIX + ["verify_rectification"],
    Role.SALES_MANAGER: READ + REPORTS + FIX,
    Role.SERVICE_MANAGER: READ + REPORTS + FIX,
    Role.LOUNGE_ATTENDANT: FIX,
    Role.CALLER: FIX,
}


def forwards(apps, schema_editor):
    grant_permissions(apps, "inspections", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=Role.values):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="inspections"))


class Migration(migrations.Migration):
    dependencies = [("inspections", "0002_default_checklists"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
