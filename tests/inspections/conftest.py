"""Fixtures of the inspections tests: each store's checklists, the people of a round,
photos stored in a temporary folder, and a Monday (a working day) to freeze time at."""

from datetime import UTC, datetime

import pytest

from crm_site.roles import Role
from inspections import services
from inspections.models import Area, ChecklistTemplate, Outcome

# Monday 2026-11-23, 09:00 in Shanghai (01:00 UTC): the display cars' morning check.
MONDAY_0900 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
    return settings.MEDIA_ROOT


@pytest.fixture
def media_files(_media):
    def files():
        return sorted(p for p in _media.rglob("*") if p.is_file()) if _media.exists() else []
    return files


@pytest.fixture
def checklists(store):
    services.checklists_ensure_for_store(store=store)
    return {t.area: t for t in ChecklistTemplate.objects.filter(store=store)}


@pytest.fixture
def other_checklists(other_store):
    services.checklists_ensure_for_store(store=other_store)
    return {t.area: t for t in ChecklistTemplate.objects.filter(store=other_store)}


@pytest.fixture
def specialist(make_user, store):
    return make_user(Role.CR_SPECIALIST, store, username="spec")


@pytest.fixture
def attendant(make_user, store):
    return make_user(Role.LOUNGE_ATTENDANT, store, username="bar")


@pytest.fixture
def consultant(make_user, store):
    """A sales manager stands in for the consultant who owns the display cars."""
    return make_user(Role.SALES_MANAGER, store, username="sales")


@pytest.fixture
def started(checklists, specialist):
    """start(area, now=...) -> an extra round of that area, started by the specialist."""
    def start(area=Area.SHOWROOM, now=MONDAY_0900):
        return services.inspection_create_extra(actor=specialist, template=checklists[area], now=now)
    return start


@pytest.fixture
def walk(specialist):
    """walk(inspection, outcomes, responsible=None, now=...) answers each item in order
    (a list of outcomes, the last repeated) and completes the round."""
    from .factories import jpeg

    def run(inspection, outcomes, responsible=None, now=MONDAY_0900, complete=True):
        results = list(inspection.results.order_by("position"))
        for index, result in enumerate(results):
            outcome = outcomes[min(index, len(outcomes) - 1)]
            services.inspection_answer(result=result, actor=specialist, outcome=outcome,
                                       responsible=responsible if outcome == Outcome.FAIL else None, now=now)
            if outcome == Outcome.FAIL and result.photo_required:
                services.result_add_photo(result=result, actor=specialist, upload=jpeg(), now=now)
        if complete:
            return services.inspection_complete(inspection=inspection, actor=specialist, now=now)
        return inspection
    return run
