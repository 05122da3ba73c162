"""The English catalogue is complete and compiled."""

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_string_has_an_english_translation():
    entries = PO.read_text(encoding="utf-8").split("\n\n")[1:]  # skip the header
    untranslated = [e for e in entries
                    if re.search(r'^msgstr(\[0\])? ""\s*$', e, re.M)
                    and not re.search(r'^msgstr(\[0\])? ""\n"', e, re.M)
                    and not e.lstrip().startswith("#~")]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert untranslated == [] and fuzzy == []


def test_compiled_catalogue_is_used():
    with translation.override("en"):
        assert translation.gettext("登录") == "Sign in"
        assert translation.gettext("投诉看板") != "投诉看板"
    with translation.override("zh-hans"):
        assert translation.gettext("登录") == "登录"
