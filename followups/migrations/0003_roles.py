"""Permissions of the follow-up models per role."""

from django.db import migrations

from crm_site.roles import grant_permissions

EDITABLE = ["programme", "step", "satisfactionquestion", "refusalreason", "outcome",
            "followupsettings", "campaign", "careclass", "classinvitation"]
READ_ALL = ["view_" + m for m in EDITABLE + ["task", "appointment", "satisfactionanswer",
                                                 "callattempt", "campaignmember"]]
MANAGE = READ_ALL + [f"{verb}_{m}" for m in EDITABLE for verb in ("add", "change")] + [
    "record_outcome", "reassign_task", "run_planner", "add_appointment", "change_appointment",
]
CR_STAFF = READ_ALL + ["record_outcome", "add_appointment", "change_appointment",
                       "change_classinvitation", "add_classinvitation"]

PERMISSIONS = {
    "cr_manager": MANAGE,
    "general_manager": MANAGE,
    "caller": CR_STAFF,
    "cr_specialist": CR_STAFF + ["add_campaign", "change_campaign", "add_careclass",
                                 "change_careclass"],
    "lounge_attendant": ["view_appointment", "view_careclass", "view_classinvitation",
                         "change_classinvitation"],
    "sales_manager": ["view_task", "view_satisfactionanswer", "view_appointment"],
    "service_manager": ["view_task", "view_satisfactionanswer", "view_appointment"],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, "followups", PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("followups", "0002_defaults"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
