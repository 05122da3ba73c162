"""Encrypt the resident ID numbers already stored in plain text (customers and their
history rows), fill their keyed hash, and give the roles the new permissions: the CR
manager and general manager erase a customer's personal data on request and read the
export log; every role that reads records reads the consent changes."""

from django.db import migrations

from crm_site.crypto import decrypt, encrypt, is_token, keyed_hash
from crm_site.roles import Role, grant_permissions

TABLES = ("customers_customer", "customers_historicalcustomer")
KEY = {"customers_customer": "id", "customers_historicalcustomer": "history_id"}
BATCH = 2000

VIEW_RECORDS = ["view_consentchange"]
MANAGERS = VIEW_RECORDS + ["erase_customer", "view_customererasure", "view_personaldataexport"]
PERMISSIONS = {
    Role.CR_MANAGER: MANAGERS,
    Role.GENERAL_MANAGER: MANAGERS,
    Role.CALLER: VIEW_RECORDS,
    Role.CR_SPECIALIST: VIEW_RECORDS,
    Role.SALES_MANAGER: VIEW_RECORDS,
    Role.SERVICE_MANAGER: VIEW_RECORDS,
}


def _rewrite(schema_editor, convert):
    """convert(value) -> new value or None (leave the row); set-wise per batch."""
    connection = schema_editor.connection
    for table in TABLES:
        key = KEY[table]
        last = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {key}, id_number FROM {table} WHERE {key} > %s AND id_number <> '' "  # noqa: S608
                    f"ORDER BY {key} LIMIT %s", [last, BATCH])
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates = [(pk, *converted) for pk, value in rows
                       if (converted := convert(value)) is not None]
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET id_number = %s, id_number_hash = %s WHERE {key} = %s",  # noqa: S608
                        [(value, digest, pk) for pk, value, digest in updates])


def _encrypt(value):
    if is_token(value):
        return None
    return encrypt(value), keyed_hash(value)


def _decrypt(value):
    if not is_token(value):
        return None
    return decrypt(value), ""


def forwards(apps, schema_editor):
    _rewrite(schema_editor, _encrypt)
    grant_permissions(apps, "customers", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    _rewrite(schema_editor, _decrypt)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_personal_data_at_rest")]
    operations = [migrations.RunPython(forwards, backwards)]
