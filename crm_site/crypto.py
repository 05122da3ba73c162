"""Personal data at rest: encrypted model fields and keyed hashes for looking them up.

- `EncryptedTextField` stores a Fernet token (AES-128-CBC with HMAC-SHA256, from the
  maintained `cryptography` package) and reads back the plain text. The keys come from
  the environment, `FIELD_ENCRYPTION_KEYS` (comma-separated, newest first): the first
  encrypts, all of them decrypt (MultiFernet), so a new key is put in front, then
  `manage.py reencrypt_personal_data` rewrites every row under it and the old key can go.
- A token is random, so the database cannot compare encrypted values: every lookup,
  uniqueness or duplicate check goes through a keyed hash column (`keyed_hash`,
  HMAC-SHA256 with its own key `PERSONAL_DATA_HASH_KEY`), never through the encrypted
  column itself.

An empty value is stored empty (no token), so "has an ID number" stays a plain filter.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts with its version byte and timestamp


@lru_cache(maxsize=1)
def _fernet():
    keys = [key for key in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if key]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from error


@receiver(setting_changed)
def _reset_keys(*, setting, **kwargs):
    if setting in ("FIELD_ENCRYPTION_KEYS", "PERSONAL_DATA_HASH_KEY"):
        _fernet.cache_clear()


def encrypt(text):
    """A Fernet token for the text, under the newest key ("" stays "")."""
    if not text:
        return text
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token):
    """The plain text of a token made under any configured key ("" stays "")."""
    if not token:
        return token
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with FIELD_ENCRYPTION_KEYS "
            "(key removed before re-encrypting?).") from error


def rotate(token):
    """The token re-encrypted under the newest key."""
    if not token:
        return token
    return _fernet().rotate(token.encode()).decode()


def is_token(value):
    return bool(value) and value.startswith(TOKEN_PREFIX)


def keyed_hash(value):
    """HMAC-SHA256 (hex) of a normalised identifier, for lookups and duplicate checks; ""
    for an empty value."""
    if not value:
        return ""
    key = getattr(settings, "PERSONAL_DATA_HASH_KEY", "")
    if not key:
        raise ImproperlyConfigured("PERSONAL_DATA_HASH_KEY is not set.")
    return hmac.new(key.encode(), value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Text kept encrypted in the database (see the module docstring). Only `=""`,
    `isnull` and `in [""]` make sense as lookups on it; search by its hash column."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value or is_token(value):
            return value
        return encrypt(value)
