"""Exporting the customer list becomes a permission of its own, `export_customers`,
held by the roles that export personal data elsewhere (reports naming customers): the
CR, sales and service managers and the general manager. The caller, the CR specialist
and the lounge attendant no longer export the list (they still read it on the page)."""

from django.db import migrations

from crm_site.roles import Role, grant_permissions

EXPORTERS = [Role.CR_MANAGER, Role.SALES_MANAGER, Role.SERVICE_MANAGER, Role.GENERAL_MANAGER]


def forwards(apps, schema_editor):
    grant_permissions(apps, "customers", {str(role): ["export_customers"] for role in EXPORTERS})


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_encrypted_value_marker")]
    operations = [
        migrations.AlterModelOptions(
            name="customer",
            options={"ordering": ["-id"],
                     "permissions": [("merge_customer", "合并重复客户"),
                                     ("import_customers", "导入客户数据"),
                                     ("export_customers", "导出客户列表"),
                                     ("record_consent", "记录客户联系偏好")],
                     "verbose_name": "客户", "verbose_name_plural": "客户"},
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
