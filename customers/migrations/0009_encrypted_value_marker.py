"""Every encrypted value gets the marker (crm_site/crypto.py): from now on a value is
taken for ciphertext only when it carries it, and everything written is encrypted.

Before, a value that merely looked like a Fernet token ("gAAAAA...") was stored as it
was and failed to decrypt on read, so one correction request could make the corrections
pages, the correction API and the customer's page answer 500. Here each unmarked value
is either
- a token of ours (it decrypts under FIELD_ENCRYPTION_KEYS): the marker is put in front,
  the token is kept as it is; or
- text that only looked like a token (or was never encrypted): it is encrypted as text,
  so it reads back as the literal text it was, and the lookup hash is refreshed.
Backwards the marker is taken off again (the format of migration 0007)."""

from django.db import migrations

from crm_site.crypto import MARKER, encrypt, is_encrypted, keyed_hash, legacy_decrypt

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


def _rewrite(schema_editor, convert):
    """convert(value) -> (new value, new hash or None to keep it) or None (leave the row)."""
    connection = schema_editor.connection
    for table, key, column, hash_column in COLUMNS:
        last = None
        while True:
            after = "" if last is None else f"AND {key} > %s "
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {key}, {column} FROM {table} WHERE {column} <> '' {after}"  # noqa: S608
                    f"ORDER BY {key} LIMIT %s", ([] if last is None else [last]) + [BATCH])
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            values, hashes = [], []
            for pk, value in rows:
                converted = convert(value)
                if converted is None:
                    continue
                new, digest = converted
                values.append((new, pk))
                if hash_column and digest is not None:
                    hashes.append((digest, pk))
            with connection.cursor() as cursor:
                if values:
                    cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {key} = %s",  # noqa: S608
                                       values)
                if hashes:
                    cursor.executemany(f"UPDATE {table} SET {hash_column} = %s WHERE {key} = %s",  # noqa: S608
                                       hashes)


def mark(value):
    if is_encrypted(value):
        return None
    if legacy_decrypt(value) is not None:
        return MARKER + value, None  # a token of ours: same token, now marked
    return encrypt(value), keyed_hash(value)  # text that was stored as it was


def unmark(value):
    if not is_encrypted(value):
        return None
    return value[len(MARKER):], None


def forwards(apps, schema_editor):
    _rewrite(schema_editor, mark)


def backwards(apps, schema_editor):
    _rewrite(schema_editor, unmark)


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_birthday_and_visit_out_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
