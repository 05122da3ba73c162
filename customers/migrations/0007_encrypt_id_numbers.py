"""Encrypt the resident ID numbers already stored in plain text (customers and their
history rows), fill their keyed hash, encrypt the values of correction requests (they
may be ID numbers or mobiles), and give the roles the new permissions: the CR
manager and general manager erase a customer's personal data on request and read the
export log; every role that reads records reads the consent changes."""

from django.db import migrations

from crm_site.crypto import decrypt, encrypt, keyed_hash
from crm_site.crypto import is_legacy_token as is_token
from crm_site.roles import Role, grant_permissions

# (table, primary key, encrypted column, hash column or None)
COLUMNS = [
    ("customers_customer", "id", "id_number", "id_number_hash"),
    ("customers_historicalcustomer", "history_id", "id_number", "id_number_hash"),
    ("customers_correctionrequest", "id", "wrong_value", None),
    ("customers_correctionrequest", "id", "correct_value", None),
    ("customers_historicalcorrectionrequest", "history_id", "wrong_value", None),
    ("customers_historicalcorrectionrequest", "history_id", "correct_value", None),
]
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
    """convert(value) -> (new value, hash) or None (leave the row); one batch at a time."""
    connection = schema_editor.connection
    for table, key, column, hash_column in COLUMNS:
        last = 0
        sets = f"{column} = %s" + (f", {hash_column} = %s" if hash_column else "")
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {key}, {column} FROM {table} WHERE {key} > %s AND {column} <> '' "  # noqa: S608
                    f"ORDER BY {key} LIMIT %s", [last, BATCH])
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates = []
            for pk, value in rows:
                converted = convert(value)
                if converted is not None:
                    new, digest = converted
                    updates.append((new, digest, pk) if hash_column else (new, pk))
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(f"UPDATE {table} SET {sets} WHERE {key} = %s",  # noqa: S608
                                       updates)


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
