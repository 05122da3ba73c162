"""The default service rule of DOMAIN.md (first service 3 months after delivery, periodic
service every 6 months) and the roles' permissions on customer records."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

RECORDS = ["customer", "familymember", "vehicle", "vehicleownership", "sale", "servicevisit",
           "insurancepolicy"]
VIEW_ALL = [f"view_{model}" for model in RECORDS] + ["view_correctionrequest"]
EDIT_ALL = [f"{action}_{model}" for model in RECORDS for action in ("add", "change")
            if model != "vehicleownership"]

PERMISSIONS = {
    Role.CR_MANAGER: VIEW_ALL + EDIT_ALL + [
        "add_correctionrequest", "decide_correctionrequest", "merge_customer",
        "import_customers", "record_consent", "view_customermerge", "view_personaldatareveal",
        "view_servicerule", "change_servicerule", "add_servicerule"],
    Role.GENERAL_MANAGER: VIEW_ALL + EDIT_ALL + [
        "add_correctionrequest", "decide_correctionrequest", "merge_customer",
        "import_customers", "record_consent", "view_customermerge", "view_personaldatareveal",
        "view_servicerule", "change_servicerule", "add_servicerule"],
    Role.CALLER: VIEW_ALL + ["add_correctionrequest", "record_consent"],
    Role.CR_SPECIALIST: VIEW_ALL + ["add_customer", "change_customer", "add_familymember",
                                    "change_familymember", "add_correctionrequest",
                                    "record_consent", "view_servicerule"],
    Role.LOUNGE_ATTENDANT: ["view_customer", "view_vehicle", "view_familymember"],
    Role.SALES_MANAGER: VIEW_ALL + ["add_customer", "change_customer", "add_familymember",
                                    "change_familymember", "add_vehicle", "change_vehicle",
                                    "add_sale", "change_sale", "decide_correctionrequest",
                                    "import_customers", "view_servicerule"],
    Role.SERVICE_MANAGER: VIEW_ALL + ["add_customer", "change_customer", "add_vehicle",
                                      "change_vehicle", "add_servicevisit", "change_servicevisit",
                                      "add_insurancepolicy", "change_insurancepolicy",
                                      "decide_correctionrequest", "import_customers",
                                      "view_servicerule", "change_servicerule"],
}


def forwards(apps, schema_editor):
    ServiceRule = apps.get_model("customers", "ServiceRule")
    ServiceRule.objects.get_or_create(brand="", defaults={"first_service_months": 3,
                                                          "service_interval_months": 6})
    grant_permissions(apps, "customers", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    perms = Permission.objects.filter(content_type__app_label="customers")
    for group in Group.objects.filter(name__in=Role.values):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
