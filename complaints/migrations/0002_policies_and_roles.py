"""The SLA policy of each severity from DOMAIN.md section 5 (respond in 30 minutes,
resolve in 24 hours, department feedback in 3 days, warn at 80%, repeats within 90 days)
and the roles' permissions on complaints."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

WORK = ["view_complaint", "add_complaint", "change_complaint", "view_complaintevent",
        "view_complaintattachment", "add_complaintattachment", "view_slapolicy"]
MANAGE = WORK + ["record_department_feedback", "view_complaint_report", "change_slapolicy"]
DEPARTMENT = ["view_complaint", "view_complaintevent", "view_complaintattachment",
              "add_complaintattachment", "record_department_feedback", "view_slapolicy"]

PERMISSIONS = {
    Role.CR_MANAGER: MANAGE,
    Role.GENERAL_MANAGER: MANAGE,
    Role.CALLER: WORK,
    Role.CR_SPECIALIST: WORK,
    Role.LOUNGE_ATTENDANT: ["view_complaint", "add_complaint", "view_complaintevent",
                            "add_complaintattachment"],
    Role.SALES_MANAGER: DEPARTMENT,
    Role.SERVICE_MANAGER: DEPARTMENT,
}


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("complaints", "SlaPolicy")
    for severity in ("general", "important"):
        SlaPolicy.objects.get_or_create(severity=severity, defaults={
            "response_minutes": 30, "resolution_minutes": 24 * 60, "department_days": 3,
            "warning_percent": 80, "repeat_window_days": 90, "working_hours_only": False,
        })
    grant_permissions(apps, "complaints", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    perms = Permission.objects.filter(content_type__app_label="complaints")
    for group in Group.objects.filter(name__in=Role.values):
        group.permissions.remove(*perms)
    apps.get_model("complaints", "SlaPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
