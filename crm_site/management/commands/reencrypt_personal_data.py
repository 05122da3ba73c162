"""Re-encrypt every encrypted field under the newest key and refresh the lookup hashes.

Key rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one after
it), restart, run this command, then remove the old key. A new PERSONAL_DATA_HASH_KEY is
applied the same way: the command recomputes every `<field>_hash` column from the plain
text. Safe to run twice; history rows are re-encrypted too."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from crm_site.crypto import EncryptedTextField, UnreadableValue, keyed_hash

BATCH = 1000


def encrypted_fields():
    """(model, field name, hash field name or None) of every encrypted column."""
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                hash_name = f"{field.name}_hash"
                yield model, field.name, hash_name if hash_name in names else None


class Command(BaseCommand):
    help = "Re-encrypt personal data under the newest FIELD_ENCRYPTION_KEYS key; refresh hashes."

    def handle(self, *args, **options):
        for model, name, hash_name in encrypted_fields():
            count, unreadable = self._rewrite(model, name, hash_name)
            self.stdout.write(f"{model._meta.label}.{name}: {count} rows")
            if unreadable:
                self.stderr.write(f"{model._meta.label}.{name}: {unreadable} rows cannot be "
                                  "decrypted with FIELD_ENCRYPTION_KEYS and were left as they are")

    def _rewrite(self, model, name, hash_name):
        manager = model._base_manager
        pk_name = model._meta.pk.attname
        fields = [name] + ([hash_name] if hash_name else [])
        last, count, unreadable = None, 0, 0
        while True:
            rows = manager.exclude(**{name: ""}).order_by(pk_name).only(pk_name, *fields)
            if last is not None:
                rows = rows.filter(**{f"{pk_name}__gt": last})
            batch = list(rows[:BATCH])
            if not batch:
                return count, unreadable
            for row in batch:  # read back in plain text; saving encrypts under the newest key
                value = getattr(row, name)
                if isinstance(value, UnreadableValue):  # written back as it is stored
                    unreadable += 1
                elif hash_name:
                    setattr(row, hash_name, keyed_hash(value))
            with transaction.atomic():
                manager.bulk_update(batch, fields)
            count += len(batch)
            last = getattr(batch[-1], pk_name)
