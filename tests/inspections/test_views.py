"""The pages: today's rounds, the one-thumb round form saved item by item, my
rectifications, re-check, manager figures and checklists; scoping and fixed query
counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm_site.roles import Role
from inspections import services
from inspections.models import Area, ChecklistItem, Inspection, Outcome, Photo, Rectification

from .factories import html_as_jpg, jpeg

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture
def spec_client(client, specialist):
    client.force_login(specialist)
    return client


def extra_round(checklists, specialist, area=Area.SHOWROOM, now=None):
    return services.inspection_create_extra(actor=specialist, template=checklists[area],
                                            now=now or timezone.now())


def test_today_lists_rounds_with_fixed_queries(spec_client, checklists, specialist):
    url = reverse("inspections:today")
    extra_round(checklists, specialist)
    one = queries(spec_client, url)
    for _n in range(19):
        extra_round(checklists, specialist, Area.BAR)
    many = queries(spec_client, url)
    assert one == many
    response = spec_client.get(url)
    assert response.content.decode().count('data-testid="round"') == 20


def test_nav_items_follow_permissions(spec_client, client, attendant):
    body = spec_client.get(reverse("inspections:today")).content.decode()
    assert reverse("inspections:today") in body and reverse("inspections:my-rectifications") in body
    assert reverse("inspections:dashboard") not in body
    client.force_login(attendant)
    assert client.get(reverse("inspections:today")).status_code == 403
    assert client.get(reverse("inspections:my-rectifications")).status_code == 200


def test_round_form_item_by_item(spec_client, store, checklists, specialist, consultant, media_files):
    services.rounds_schedule(stores=[store], now=timezone.now().replace(hour=1))
    round_ = Inspection.objects.filter(store=store, area=Area.DISPLAY_CARS).first()
    if round_ is None:  # a day off: plan an extra round instead
        round_ = Inspection.objects.create(store=store, template=checklists[Area.DISPLAY_CARS],
                                           area=Area.DISPLAY_CARS, day=timezone.localdate(),
                                           scheduled_for=timezone.now())
    page = reverse("inspections:inspection", args=[round_.pk])
    assert 'data-testid="start"' in spec_client.get(page).content.decode()
    assert spec_client.post(reverse("inspections:inspection-start", args=[round_.pk])).status_code == 302
    body = spec_client.get(page).content.decode()
    assert body.count('data-testid="item"') == 5
    results = list(round_.results.order_by("position"))

    card = spec_client.post(reverse("inspections:result-answer", args=[results[0].pk]),
                            {"outcome": "fail"}, **HTMX).content.decode()
    assert 'accept="image/*"' in card and 'capture="environment"' in card
    assert "<html" not in card  # only the card comes back
    bad = spec_client.post(reverse("inspections:result-photo", args=[results[0].pk]),
                           {"photo": html_as_jpg()}, **HTMX).content.decode()
    assert "照片：" in bad and "不是有效的图片" in bad
    assert not Photo.objects.exists() and media_files() == []
    good = spec_client.post(reverse("inspections:result-photo", args=[results[0].pk]),
                            {"photo": jpeg()}, **HTMX).content.decode()
    assert 'data-testid="photos"' in good
    spec_client.post(reverse("inspections:result-answer", args=[results[0].pk]),
                     {"outcome": "fail", "note": "前挡有指纹", "responsible": consultant.pk}, **HTMX)
    for result in results[1:]:
        card = spec_client.post(reverse("inspections:result-answer", args=[result.pk]),
                                {"outcome": "pass"}, **HTMX).content.decode()
        assert 'data-outcome="pass"' in card
    response = spec_client.post(reverse("inspections:inspection-complete", args=[round_.pk]), follow=True)
    body = response.content.decode()
    assert 'data-testid="score"' in body
    round_.refresh_from_db()
    assert round_.status == Inspection.Status.COMPLETED and round_.fail_count == 1
    rectification = Rectification.objects.get(inspection=round_)
    assert rectification.responsible == consultant and rectification.result.note == "前挡有指纹"


def test_answer_without_htmx_redirects_back(spec_client, checklists, specialist):
    round_ = extra_round(checklists, specialist)
    result = round_.results.first()
    response = spec_client.post(reverse("inspections:result-answer", args=[result.pk]), {"outcome": "na"})
    assert response.status_code == 302 and response["Location"].endswith(f"#item-{result.pk}")
    result.refresh_from_db()
    assert result.outcome == Outcome.NA


def test_complete_with_gaps_shows_what_is_missing(spec_client, checklists, specialist):
    round_ = extra_round(checklists, specialist)
    response = spec_client.post(reverse("inspections:inspection-complete", args=[round_.pk]), follow=True)
    assert "未填写" in response.content.decode()
    round_.refresh_from_db()
    assert round_.status == Inspection.Status.IN_PROGRESS


def test_another_stores_round_is_404(spec_client, other_checklists, make_user, other_store):
    foreign = make_user(Role.CR_SPECIALIST, other_store)
    round_ = extra_round(other_checklists, foreign)
    result = round_.results.first()
    assert spec_client.get(reverse("inspections:inspection", args=[round_.pk])).status_code == 404
    assert spec_client.post(reverse("inspections:inspection-start", args=[round_.pk])).status_code == 404
    assert spec_client.post(reverse("inspections:result-answer", args=[result.pk]),
                            {"outcome": "pass"}).status_code == 404
    assert spec_client.post(reverse("inspections:result-photo", args=[result.pk]),
                            {"photo": jpeg()}).status_code == 404
    assert spec_client.post(reverse("inspections:inspection-complete", args=[round_.pk])).status_code == 404
    result.refresh_from_db()
    assert result.outcome == ""
    assert "data-testid=\"round\"" not in spec_client.get(reverse("inspections:today")).content.decode()


def _failures(started, walk, consultant, rounds):
    for n in range(rounds):
        walk(started(Area.DISPLAY_CARS, now=timezone.now() - timedelta(minutes=n)), [Outcome.FAIL],
             responsible=consultant, now=timezone.now())


def test_my_rectifications_fixed_queries_and_only_mine(client, started, walk, consultant, attendant):
    client.force_login(consultant)
    url = reverse("inspections:my-rectifications")
    _failures(started, walk, consultant, 1)  # 5 failures
    one = queries(client, url)
    _failures(started, walk, consultant, 3)  # 20 failures
    assert queries(client, url) == one
    assert client.get(url).content.decode().count('data-testid="rectification"') == 20
    client.force_login(attendant)
    assert 'data-testid="rectification"' not in client.get(url).content.decode()


def test_fix_and_recheck_on_the_pages(client, started, walk, consultant, cr_manager, attendant):
    _failures(started, walk, consultant, 1)
    rectification = Rectification.objects.order_by("id").first()
    detail = reverse("inspections:rectification", args=[rectification.pk])
    client.force_login(attendant)
    assert client.get(detail).status_code == 404  # not theirs, no wider right
    client.force_login(consultant)
    assert 'data-testid="fix"' in client.get(detail).content.decode()
    response = client.post(reverse("inspections:rectification-fix", args=[rectification.pk]),
                           {"photo": html_as_jpg()}, follow=True)
    assert "照片：" in response.content.decode()
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.OPEN
    client.post(reverse("inspections:rectification-fix", args=[rectification.pk]),
                {"photo": jpeg(), "note": "已清洁", "next": reverse("inspections:my-rectifications")})
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.FIXED
    client.force_login(cr_manager)
    assert 'data-testid="verify-pass"' in client.get(detail).content.decode()
    client.post(reverse("inspections:rectification-verify", args=[rectification.pk]), {"passed": "1"})
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.VERIFIED


def test_rectification_list_fixed_queries(manager_client, started, walk, consultant):
    url = reverse("inspections:rectifications")
    _failures(started, walk, consultant, 1)
    one = queries(manager_client, url)
    _failures(started, walk, consultant, 3)
    assert queries(manager_client, url) == one


def test_dashboard_shows_figures_chart_and_gallery(manager_client, started, walk, consultant):
    url = reverse("inspections:dashboard")
    _failures(started, walk, consultant, 1)
    one = queries(manager_client, url)
    _failures(started, walk, consultant, 2)
    assert queries(manager_client, url) == one
    body = manager_client.get(url).content.decode()
    assert 'id="trend-chart"' in body and "vendor/echarts/echarts.min.js" in body
    assert 'id="trend-data"' in body
    assert body.count("<img") >= 3  # failure photos in the gallery
    assert "0.0%" in body  # every item failed


def test_dashboard_needs_report_right(spec_client):
    assert spec_client.get(reverse("inspections:dashboard")).status_code == 403


def test_checklist_page_edits_make_a_new_version(manager_client, checklists, started, walk, consultant):
    walk(started(Area.BAR), [Outcome.PASS])
    item = checklists[Area.BAR].items.order_by("position").first()
    assert "饮品充足" in manager_client.get(reverse("inspections:checklists")).content.decode()
    response = manager_client.post(reverse("inspections:checklist-item-edit", args=[item.pk]), {
        "position": item.position, "text": "饮品充足，及时补充（每小时检查）", "weight": 3,
        "severity": "minor", "photo_required": "on"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert not item.is_active
    assert ChecklistItem.objects.filter(template=item.template, is_active=True,
                                        text__contains="每小时").exists()
    response = manager_client.post(reverse("inspections:checklist-item-add", args=[item.template_id]), {
        "position": 9, "text": "", "weight": 0, "severity": "minor"})
    assert response.status_code == 200 and "text-danger" in response.content.decode()


def test_checklist_name_and_responsible(manager_client, checklists, attendant, other_checklists, make_user,
                                        other_store):
    template = checklists[Area.BAR]
    url = reverse("inspections:checklist-edit", args=[template.pk])
    response = manager_client.post(url, {"name": "吧台 6S", "responsible": attendant.pk, "is_active": "on"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.name == "吧台 6S" and template.responsible == attendant and template.version == 1
    stranger = make_user(Role.LOUNGE_ATTENDANT, other_store)
    response = manager_client.post(url, {"name": "吧台", "responsible": stranger.pk, "is_active": "on"})
    assert response.status_code == 200  # not a choice: only this store's staff are offered
    foreign = other_checklists[Area.BAR]
    assert manager_client.get(reverse("inspections:checklist-edit", args=[foreign.pk])).status_code == 404


def test_dashboard_counts_missed_rounds(client, cr_manager, store):
    from datetime import UTC, datetime

    import time_machine

    services.rounds_schedule(now=datetime(2026, 11, 20, 0, 5, tzinfo=UTC), stores=[store])  # a Friday
    with time_machine.travel(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False):
        client.force_login(cr_manager)  # a session of that day
        body = client.get(reverse("inspections:dashboard"),
                                  {"start": "2026-11-16", "end": "2026-11-24"}).content.decode()
    assert 'data-testid="missed"' in body and "漏检 8 轮" in body


def test_the_person_responsible_sees_the_failure_photo_others_do_not(
        client, started, walk, attendant, make_user, store):
    """The lounge attendant has no right to read rounds, yet must see what there is to fix
    on her rectification; a caller of the same store gets 404 for the same photo."""
    from .conftest import MONDAY_0900

    round_ = started(Area.DISPLAY_CARS, now=MONDAY_0900)
    walk(round_, [Outcome.FAIL, Outcome.PASS], responsible=attendant, now=MONDAY_0900)
    rectification = Rectification.objects.get(inspection=round_)
    photo = Photo.objects.get(result=rectification.result, kind=Photo.Kind.BEFORE)
    client.force_login(attendant)
    page = client.get(reverse("inspections:rectification", args=[rectification.pk]))
    assert photo.image.url in page.content.decode()
    response = client.get(photo.image.url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    client.force_login(make_user(Role.CALLER, store, username="nosy"))
    assert client.get(photo.image.url).status_code == 404
