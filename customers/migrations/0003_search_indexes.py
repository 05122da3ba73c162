"""Trigram indexes for searching by any part of a mobile, name, plate or VIN
(pg_trgm)."""

from django.db import migrations

INDEXES = [
    ("customer_mobile_trgm", "customers_customer", "mobile"),
    ("customer_name_trgm", "customers_customer", "name"),
    ("vehicle_plate_trgm", "customers_vehicle", "plate"),
    ("vehicle_vin_trgm", "customers_vehicle", "vin"),
]


def forwards(apps, schema_editor):
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")


def backwards(apps, schema_editor):
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_defaults_and_roles")]
    operations = [migrations.RunPython(forwards, backwards)]
