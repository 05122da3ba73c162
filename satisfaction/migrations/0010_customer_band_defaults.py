"""Defaults of the customer analysis (DOMAIN.md section 9): age bands (under 25, 25-34,
35-44, 45-54, 55 and over), mileage bands and loyalty tiers by visits (1 visit new, 2-3
regular, 4 or more loyal); and who may see the analysis: CR managers, general managers,
sales and service managers. Managers edit the bands afterwards."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

BANDS = [
    # kind, label, lower, upper
    ("age", "25岁以下", 0, 24),
    ("age", "25-34岁", 25, 34),
    ("age", "35-44岁", 35, 44),
    ("age", "45-54岁", 45, 54),
    ("age", "55岁及以上", 55, None),
    ("mileage", "1万公里以下", 0, 9999),
    ("mileage", "1万-3万公里", 10000, 29999),
    ("mileage", "3万-6万公里", 30000, 59999),
    ("mileage", "6万-10万公里", 60000, 99999),
    ("mileage", "10万公里及以上", 100000, None),
    ("loyalty", "新客户（1次）", 1, 1),
    ("loyalty", "常客（2-3次）", 2, 3),
    ("loyalty", "忠诚客户（4次及以上）", 4, None),
]
VIEWERS = ["view_customer_analysis", "view_customerband"]
EDITORS = VIEWERS + ["add_customerband", "change_customerband"]


def forwards(apps, schema_editor):
    CustomerBand = apps.get_model("satisfaction", "CustomerBand")
    for order, (kind, label, lower, upper) in enumerate(BANDS):
        CustomerBand.objects.get_or_create(kind=kind, label=label,
                                           defaults={"lower": lower, "upper": upper, "order": order})
    grant_permissions(apps, "satisfaction", {
        str(Role.CR_MANAGER): EDITORS, str(Role.GENERAL_MANAGER): EDITORS,
        str(Role.SALES_MANAGER): VIEWERS, str(Role.SERVICE_MANAGER): VIEWERS,
    })


def backwards(apps, schema_editor):
    apps.get_model("satisfaction", "CustomerBand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("satisfaction", "0009_customer_bands"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
