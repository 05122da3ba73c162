"""One owner for each definition, read in the code itself: the apps import each other
directly (no model looked up by a string, no guard for an app that is always installed),
and no list page filters by hand what its FilterSet does."""

import re
from pathlib import Path

from django.conf import settings

APPS = ("crm_site", "customers", "complaints", "followups", "inspections", "satisfaction")
ROOT = Path(settings.BASE_DIR)
# Data migrations must use the historical models they are given (apps.get_model), and
# crm_site.roles.grant_permissions is the helper they call.
ALLOWED_LOOKUPS = {"crm_site/roles.py"}


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, path.read_text()


def test_no_model_looked_up_by_name_and_no_guard_for_an_installed_app():
    offenders = []
    for relative, text in _sources():
        if re.search(r"except ImportError", text):
            offenders.append(f"{relative}: except ImportError")
        if relative not in ALLOWED_LOOKUPS and re.search(r"""_model\(\s*["']""", text):
            offenders.append(f"{relative}: a model looked up by its name")
    assert offenders == []


def test_list_pages_filter_through_their_filtersets():
    """The filters a list offers (status, store, owner …) are read by a FilterSet, never
    by hand in a view."""
    hand = re.compile(r"""request\.GET(?:\.get\(|\[)["'](status|severity|department|owner|"""
                      r"""kind|survey|staff|delivery|assignee|programme|without_plan|mine)["']""")
    offenders = [f"{relative}: {match.group(1)}" for relative, text in _sources()
                 if relative.endswith("views.py") for match in hand.finditer(text)]
    assert offenders == []
