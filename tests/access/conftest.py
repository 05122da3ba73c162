"""The access tests share one world per run of this directory (see world.py)."""

import tempfile

import pytest
from django.test import override_settings

from .world import build_world


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker):
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        yield from build_world(django_db_blocker)
