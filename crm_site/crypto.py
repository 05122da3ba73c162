"""Personal data at rest: encrypted model fields and keyed hashes for looking them up.

- `EncryptedTextField` stores `enc:v1:` followed by a Fernet token (AES-128-CBC with
  HMAC-SHA256, from the maintained `cryptography` package) and reads back the plain text.
  The keys come from the environment, `FIELD_ENCRYPTION_KEYS` (comma-separated, newest
  first): the first encrypts, all of them decrypt (MultiFernet), so a new key is put in
  front, then `manage.py reencrypt_personal_data` rewrites every row under it and the old
  key can go.
- Every value written is encrypted, whatever it looks like: a value typed by a user is
  never taken for ciphertext, even one that looks like a token or starts with the
  marker (it is encrypted like any other text, marker and all). Only what this module
  wrote carries the marker, so the stored form is unambiguous.
- Reading never raises on a bad stored value: a marked value that the configured keys
  cannot decrypt (a key removed before re-encrypting) reads as `UnreadableValue` (a
  placeholder text, logged), and saving the row writes the stored value back unchanged,
  so restoring the key restores the data. A value without the marker was written
  before it (customers migration 0009 converts them): a Fernet token of ours is
  decrypted, anything else is shown as the text it is.
- A token is random, so the database cannot compare encrypted values: every lookup,
  uniqueness or duplicate check goes through a keyed hash column (`keyed_hash`,
  HMAC-SHA256 with its own key `PERSONAL_DATA_HASH_KEY`), never through the encrypted
  column itself.

An empty value is stored empty (no token), so "has an ID number" stays a plain filter.
"""

import hashlib
import hmac
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

logger = logging.getLogger(__name__)

MARKER = "enc:v1:"  # what every value written by `encrypt` starts with
TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts with its version byte and timestamp
UNREADABLE_TEXT = "[无法解密]"


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


class UnreadableValue(str):
    """An encrypted value the configured keys cannot decrypt. Reads as a placeholder;
    `stored` keeps what the database holds, and the field writes it back unchanged."""

    def __new__(cls, stored):
        value = super().__new__(cls, UNREADABLE_TEXT)
        value.stored = stored
        return value

    def __getnewargs__(self):
        return (self.stored,)


def encrypt(text):
    """The stored form of the text: the marker and a Fernet token under the newest key
    ("" stays ""). Any text is encrypted, whatever it looks like."""
    if not text:
        return text
    return MARKER + _fernet().encrypt(str(text).encode()).decode()


def is_encrypted(value):
    """Whether a stored value was written by `encrypt` (carries the marker)."""
    return bool(value) and value.startswith(MARKER)


def _token(stored):
    return stored[len(MARKER):] if is_encrypted(stored) else stored


def decrypt(stored):
    """The plain text of a stored value ("" stays ""): a marked value, or a bare Fernet
    token of the format before the marker (for the migrations). Raises
    ImproperlyConfigured when no configured key decrypts it; `read` never raises."""
    if not stored:
        return stored
    try:
        return _fernet().decrypt(_token(stored).encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "An encrypted value cannot be read with FIELD_ENCRYPTION_KEYS "
            "(key removed before re-encrypting?).") from error


def legacy_decrypt(value):
    """The plain text of a bare Fernet token written before the marker, or None when the
    value is not one that the configured keys decrypt (then it is plain text)."""
    if not is_legacy_token(value):
        return None
    try:
        return _fernet().decrypt(value.encode()).decode()
    except (InvalidToken, UnicodeError):
        return None


def read(stored):
    """What an encrypted column holds, as text. Never raises on a bad stored value."""
    if not stored:
        return stored
    if is_encrypted(stored):
        try:
            return decrypt(stored)
        except ImproperlyConfigured:
            logger.error("An encrypted value cannot be read with FIELD_ENCRYPTION_KEYS "
                         "(key removed before re-encrypting?).")
            return UnreadableValue(stored)
    plain = legacy_decrypt(stored)  # a row from before the marker, not yet migrated
    return stored if plain is None else plain


def rotate(stored):
    """The stored value re-encrypted under the newest key."""
    if not stored:
        return stored
    return MARKER + _fernet().rotate(_token(stored).encode()).decode()


def is_legacy_token(value):
    """Whether a value looks like a bare Fernet token, the stored format before the
    marker. Says nothing about who wrote it: never used to decide what to encrypt."""
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
        return read(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableValue):
            return value.stored
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
