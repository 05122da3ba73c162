"""The writes: defaults, template versions, scheduling, a round, rectifications and the
deadline sweep."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm_site.models import CalendarOverride, Notification
from crm_site.roles import Role
from inspections import services, tasks
from inspections.models import (
    Area,
    ChecklistItem,
    ChecklistTemplate,
    DeadlinePolicy,
    Inspection,
    Outcome,
    Photo,
    Rectification,
)
from tests.validation import refused

from .conftest import MONDAY_0900
from .factories import jpeg

pytestmark = pytest.mark.django_db
P, F, NA = Outcome.PASS, Outcome.FAIL, Outcome.NA


# Defaults ----------------------------------------------------------------------------------

def test_defaults_from_domain_are_loaded():
    defaults = {t.area: t for t in ChecklistTemplate.objects.defaults().prefetch_related("items", "rules")}
    assert set(defaults) == set(Area.values)
    lounge = [i.text for i in defaults[Area.CUSTOMER_LOUNGE].items.all()]
    assert any("报纸每日更换" in text for text in lounge)
    assert any("3个" in text for text in lounge)
    assert any("25℃" in i.text for i in defaults[Area.SHOWROOM].items.all())
    assert [r.time_of_day for r in defaults[Area.DISPLAY_CARS].rules.all()] == [time(9, 0), time(14, 15)]
    policies = DeadlinePolicy.objects.filter(store=None, area=Area.DISPLAY_CARS)
    minutes = set(policies.values_list("minutes", flat=True))
    assert minutes == {10}


def test_store_copies_the_defaults_once(store):
    first = services.checklists_ensure_for_store(store=store)
    again = services.checklists_ensure_for_store(store=store)
    assert len(first) == len(Area.values) and again == []
    copy = ChecklistTemplate.objects.get(store=store, area=Area.DISPLAY_CARS)
    default = ChecklistTemplate.objects.get(store=None, area=Area.DISPLAY_CARS)
    assert copy.items.count() == default.items.count()
    assert copy.rules.count() == 2


# Template versions ---------------------------------------------------------------------------

def test_template_change_leaves_old_inspections_untouched(started, walk, checklists, cr_manager, consultant):
    old = walk(started(Area.SHOWROOM), [P, F, P], responsible=consultant)
    before = [(r.text, r.weight, r.outcome) for r in old.results.order_by("position")]
    score_before = old.score
    template = checklists[Area.SHOWROOM]
    first_item = template.items.filter(is_active=True).order_by("position").first()

    new_item = services.checklist_item_update(actor=cr_manager, item=first_item, text="展厅温度 24-26℃",
                                              weight=5)

    old.refresh_from_db()
    assert [(r.text, r.weight, r.outcome) for r in old.results.order_by("position")] == before
    assert old.score == score_before and old.template_version == 1
    first_item.refresh_from_db()
    assert first_item.text == "展厅温度约25℃" and not first_item.is_active
    assert new_item.pk != first_item.pk and new_item.weight == 5
    template.refresh_from_db()
    assert template.version == 2
    fresh = started(Area.SHOWROOM, now=MONDAY_0900 + timedelta(hours=1))
    texts = [r.text for r in fresh.results.order_by("position")]
    assert "展厅温度 24-26℃" in texts and "展厅温度约25℃" not in texts
    assert fresh.template_version == 2


def test_round_in_progress_keeps_its_copy_when_template_changes(started, checklists, cr_manager):
    round_ = started(Area.BAR)
    item = checklists[Area.BAR].items.order_by("position").first()
    services.checklist_item_update(actor=cr_manager, item=item, weight=9)
    assert round_.results.get(item=item).weight == item.weight


def test_unanswered_item_is_edited_in_place(checklists, cr_manager):
    item = checklists[Area.OFFICES].items.first()
    changed = services.checklist_item_update(actor=cr_manager, item=item, weight=4)
    assert changed.pk == item.pk and changed.weight == 4


def test_item_validation_and_rights(checklists, cr_manager, specialist):
    item = checklists[Area.OFFICES].items.first()
    with pytest.raises(ValidationError) as error:
        services.checklist_item_update(actor=cr_manager, item=item, weight=0)
    assert "weight" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.checklist_item_update(actor=specialist, item=item, weight=2)
    default = ChecklistTemplate.objects.defaults().first()
    with pytest.raises(PermissionDenied):
        services.checklist_item_add(actor=cr_manager, template=default, text="x", weight=1)


def test_item_added_and_retired_bump_version(checklists, cr_manager):
    template = checklists[Area.BAR]
    item = services.checklist_item_add(actor=cr_manager, template=template, text="咖啡机已清洁", weight=2)
    services.checklist_item_retire(actor=cr_manager, item=item)
    template.refresh_from_db()
    assert template.version == 3
    assert not ChecklistItem.objects.get(pk=item.pk).is_active


# Scheduling -----------------------------------------------------------------------------------

def test_scheduler_run_twice_creates_each_round_once(store, other_store):
    now = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)  # Monday 07:05 in Shanghai
    created = services.rounds_schedule(now=now)
    again = services.rounds_schedule(now=now)
    rules_per_store = 6 + 2  # six areas once a day, display cars twice
    assert created == 2 * rules_per_store and again == 0
    assert Inspection.objects.count() == 2 * rules_per_store
    cars = Inspection.objects.filter(store=store, area=Area.DISPLAY_CARS).order_by("scheduled_for")
    assert [c.scheduled_for for c in cars] == [datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
                                               datetime(2026, 11, 23, 6, 15, tzinfo=UTC)]
    assert {c.day.isoformat() for c in cars} == {"2026-11-23"}


def test_scheduler_task_is_idempotent(store):
    with time_machine.travel(datetime(2026, 11, 23, 0, 5, tzinfo=UTC), tick=False):
        tasks.rounds_schedule.delay()
        tasks.rounds_schedule.delay()
    assert Inspection.objects.filter(store=store).count() == 8


def test_scheduler_skips_days_off(store):
    CalendarOverride.objects.create(date=datetime(2026, 11, 24).date(), store=store,
                                    is_working=False, name="店休")
    assert services.rounds_schedule(now=datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == 0
    assert not Inspection.objects.exists()


def test_switched_off_rule_or_template_plans_nothing(store, checklists):
    ChecklistTemplate.objects.filter(pk=checklists[Area.BAR].pk).update(is_active=False)
    checklists[Area.DISPLAY_CARS].rules.filter(time_of_day=time(14, 15)).update(is_active=False)
    services.rounds_schedule(now=MONDAY_0900, stores=[store])
    assert Inspection.objects.filter(store=store).count() == 6


# A round ----------------------------------------------------------------------------------------

def test_start_copies_items_and_is_idempotent(store, specialist, checklists):
    services.rounds_schedule(now=MONDAY_0900, stores=[store])
    round_ = Inspection.objects.get(store=store, area=Area.BAR)
    services.inspection_start(inspection=round_, actor=specialist, now=MONDAY_0900)
    services.inspection_start(inspection=round_, actor=specialist, now=MONDAY_0900)
    round_.refresh_from_db()
    assert round_.status == Inspection.Status.IN_PROGRESS and round_.inspector == specialist
    assert round_.results.count() == checklists[Area.BAR].items.count()


def test_complete_scores_weighted_without_na(started, walk, consultant):
    # Showroom weights: 2, 1, 2, 1, 1, 2. Fail the 2nd (1), N/A the 6th (2).
    round_ = started(Area.SHOWROOM)
    results = list(round_.results.order_by("position"))
    outcomes = [P, F, P, P, P, NA]
    for result, outcome in zip(results, outcomes, strict=True):
        services.inspection_answer(result=result, actor=round_.inspector, outcome=outcome,
                                   responsible=consultant if outcome == F else None)
    done = services.inspection_complete(inspection=round_, actor=round_.inspector, now=MONDAY_0900)
    assert done.score == Decimal("85.7")  # 6 of 7
    assert (done.pass_count, done.fail_count, done.na_count) == (4, 1, 1)
    assert done.status == Inspection.Status.COMPLETED


def test_complete_refuses_gaps(started, specialist):
    round_ = started(Area.CUSTOMER_LOUNGE)
    first = round_.results.order_by("position").first()
    services.inspection_answer(result=first, actor=specialist, outcome=F)
    with pytest.raises(ValidationError) as error:
        services.inspection_complete(inspection=round_, actor=specialist)
    messages = error.value.message_dict["results"]
    assert any("须拍照" in m for m in messages)
    assert any("未填写" in m for m in messages)
    assert any("责任人" in m for m in messages)
    assert not Rectification.objects.exists()


def test_failure_defaults_to_checklist_person(started, specialist, checklists, attendant):
    ChecklistTemplate.objects.filter(pk=checklists[Area.BAR].pk).update(responsible=attendant)
    round_ = started(Area.BAR)
    result = round_.results.first()
    services.inspection_answer(result=result, actor=specialist, outcome=F)
    result.refresh_from_db()
    assert result.responsible == attendant
    services.inspection_answer(result=result, actor=specialist, outcome=P)
    result.refresh_from_db()
    assert result.responsible is None


def test_responsible_must_work_in_the_store(started, specialist, make_user, other_store):
    stranger = make_user(Role.LOUNGE_ATTENDANT, other_store)
    result = started(Area.BAR).results.first()
    with pytest.raises(ValidationError) as error:
        services.inspection_answer(result=result, actor=specialist, outcome=F, responsible=stranger)
    assert "responsible" in error.value.message_dict


def test_only_inspectors_answer(started, attendant):
    result = started(Area.BAR).results.first()
    with pytest.raises(PermissionDenied):
        services.inspection_answer(result=result, actor=attendant, outcome=P)


def test_completed_round_is_frozen(started, walk, specialist, attendant):
    round_ = walk(started(Area.BAR), [P])
    with refused("inspection", "该检查未在进行中，不能修改。"):
        services.inspection_answer(result=round_.results.first(), actor=specialist, outcome=F,
                                   responsible=attendant)


# Rectifications -----------------------------------------------------------------------------------

def _display_car_failure(started, walk, consultant, now):
    round_ = started(Area.DISPLAY_CARS, now=now)
    walk(round_, [F, P], responsible=consultant, now=now)
    return Rectification.objects.get(inspection=round_)


def test_each_failure_becomes_a_rectification_and_is_notified(started, walk, consultant):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    assert rectification.responsible == consultant
    assert rectification.due_at == MONDAY_0900 + timedelta(minutes=10)
    assert rectification.status == Rectification.Status.OPEN
    notice = Notification.objects.get(user=consultant)
    assert "限时整改" in notice.title and notice.url.endswith(f"/rectifications/{rectification.pk}/")


@pytest.mark.parametrize(("after", "overdue"), [
    (timedelta(minutes=9, seconds=59), False),
    (timedelta(minutes=10), False),
    (timedelta(minutes=10, seconds=1), True),
])
def test_display_car_deadline_edge(started, walk, consultant, after, overdue):
    with time_machine.travel(MONDAY_0900, tick=False) as clock:
        rectification = _display_car_failure(started, walk, consultant, None)
        assert rectification.due_at == MONDAY_0900 + timedelta(minutes=10)
        clock.move_to(MONDAY_0900 + after)
        assert tasks.rectifications_mark_overdue.delay().get() == int(overdue)
    rectification.refresh_from_db()
    expected = Rectification.Status.OVERDUE if overdue else Rectification.Status.OPEN
    assert rectification.status == expected


def test_minor_showroom_failure_has_four_hours(started, walk, consultant):
    round_ = walk(started(Area.SHOWROOM), [P, F, P], responsible=consultant)
    rectification = round_.rectifications.get()
    assert rectification.due_at - rectification.notified_at == timedelta(hours=4)


def test_store_policy_wins(started, walk, consultant, store):
    DeadlinePolicy.objects.create(store=store, area=Area.SHOWROOM, severity="minor", minutes=30)
    rectification = walk(started(Area.SHOWROOM), [P, F, P], responsible=consultant).rectifications.get()
    assert rectification.due_at - rectification.notified_at == timedelta(minutes=30)


def test_overdue_notice_once_even_when_job_runs_twice(started, walk, consultant, cr_manager, specialist):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    later = MONDAY_0900 + timedelta(minutes=11)
    assert services.rectifications_mark_overdue(now=later) == 1
    assert services.rectifications_mark_overdue(now=later) == 0
    assert services.rectifications_mark_overdue(now=later + timedelta(minutes=5)) == 0
    overdue = Notification.objects.filter(title__startswith="整改超时")
    assert sorted(n.user.username for n in overdue) == sorted([consultant.username, cr_manager.username])
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.OVERDUE
    assert rectification.overdue_at == later
    assert not overdue.filter(user=specialist).exists()


def test_overdue_counts_against_the_person_even_when_fixed(started, walk, consultant, cr_manager):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    services.rectifications_mark_overdue(now=MONDAY_0900 + timedelta(minutes=11))
    services.rectification_fix(rectification=rectification, actor=consultant, upload=jpeg(),
                               now=MONDAY_0900 + timedelta(minutes=20))
    services.rectification_verify(rectification=rectification, actor=cr_manager, passed=True)
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.VERIFIED
    assert rectification.counts_against


def test_fix_needs_after_photo_and_only_the_person(started, walk, consultant, attendant, media_files):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    with pytest.raises(ValidationError) as error:
        services.rectification_fix(rectification=rectification, actor=consultant)
    assert "photo" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.rectification_fix(rectification=rectification, actor=attendant, upload=jpeg())
    before = len(media_files())
    services.rectification_add_photo(rectification=rectification, actor=consultant, upload=jpeg())
    fixed = services.rectification_fix(rectification=rectification, actor=consultant, note="已擦拭")
    assert fixed.status == Rectification.Status.FIXED and fixed.fix_note == "已擦拭"
    assert len(media_files()) == before + 1
    assert Photo.objects.filter(rectification=rectification, kind=Photo.Kind.AFTER).count() == 1


def test_recheck_failed_reopens_with_new_deadline(started, walk, consultant, cr_manager):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    services.rectification_fix(rectification=rectification, actor=consultant, upload=jpeg(),
                               now=MONDAY_0900 + timedelta(minutes=5))
    recheck = MONDAY_0900 + timedelta(minutes=8)
    services.rectification_verify(rectification=rectification, actor=cr_manager, passed=False,
                                  note="仍有指纹", now=recheck)
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.OPEN
    assert rectification.due_at == recheck + timedelta(minutes=10)
    assert rectification.reopened_count == 1
    assert Notification.objects.filter(user=consultant, title__startswith="复查未通过").count() == 1
    assert not rectification.counts_against


def test_recheck_rules(started, walk, consultant, cr_manager, specialist):
    rectification = _display_car_failure(started, walk, consultant, MONDAY_0900)
    with refused("status", "只有已整改的问题才能复查。"):
        services.rectification_verify(rectification=rectification, actor=cr_manager, passed=True)
    services.rectification_fix(rectification=rectification, actor=consultant, upload=jpeg())
    with pytest.raises(PermissionDenied):
        services.rectification_verify(rectification=rectification, actor=consultant, passed=True)
    done = services.rectification_verify(rectification=rectification, actor=specialist, passed=True)
    assert done.status == Rectification.Status.VERIFIED and done.verified_by == specialist


def test_sweep_is_safe_across_stores(started, walk, consultant, other_checklists, make_user, other_store):
    _display_car_failure(started, walk, consultant, MONDAY_0900)
    other_inspector = make_user(Role.CR_SPECIALIST, other_store)
    other_person = make_user(Role.SALES_MANAGER, other_store)
    other_manager = make_user(Role.CR_MANAGER, other_store)
    round_ = services.inspection_create_extra(actor=other_inspector,
                                              template=other_checklists[Area.DISPLAY_CARS], now=MONDAY_0900)
    for result in round_.results.all():
        services.inspection_answer(result=result, actor=other_inspector, outcome=F, responsible=other_person)
        services.result_add_photo(result=result, actor=other_inspector, upload=jpeg())
    services.inspection_complete(inspection=round_, actor=other_inspector, now=MONDAY_0900)
    assert services.rectifications_mark_overdue(now=MONDAY_0900 + timedelta(hours=1)) == 6
    assert Notification.objects.filter(user=other_manager, title__startswith="整改超时").count() == 5
    theirs = {f"/rectifications/{pk}/" for pk in Rectification.objects.filter(store=other_store)
              .values_list("pk", flat=True)}
    notices = Notification.objects.filter(user=other_manager, title__startswith="整改超时")
    assert all(any(n.url.endswith(path) for path in theirs) for n in notices)


def test_template_update_keeps_what_is_left_out(checklists, cr_manager, attendant, make_user, other_store):
    template = checklists[Area.BAR]
    services.checklist_template_update(actor=cr_manager, template=template, responsible=attendant)
    services.checklist_template_update(actor=cr_manager, template=template, name="吧台 6S")
    template.refresh_from_db()
    assert template.responsible == attendant and template.name == "吧台 6S"
    with refused("responsible", "责任人须是本店员工。"):
        services.checklist_template_update(actor=cr_manager, template=template,
                                           responsible=make_user(Role.CALLER, other_store))


def test_late_is_one_rule_in_python_and_in_sql(started, walk, consultant):
    """The rectification page's "late" badge (rules.rectification_late) and the figures'
    SQL (selectors.LATE: on-time rate, scorecards) pick the same rows at the edges."""
    from inspections.selectors import LATE

    inspection = walk(started(), [Outcome.FAIL], responsible=consultant)
    rows = list(Rectification.objects.filter(inspection=inspection).order_by("id"))
    assert len(rows) >= 4
    edges = [(timedelta(0), None), (timedelta(minutes=1), None), (None, timedelta(minutes=1)),
             (timedelta(minutes=-5), None)]
    for row, (fixed, overdue) in zip(rows, edges, strict=False):
        Rectification.objects.filter(pk=row.pk).update(
            fixed_at=row.due_at + fixed if fixed is not None else None,
            overdue_at=row.due_at + overdue if overdue is not None else None)
    rows = list(Rectification.objects.filter(inspection=inspection).order_by("id"))
    in_python = {row.pk for row in rows if row.counts_against}
    in_sql = set(Rectification.objects.filter(inspection=inspection).filter(LATE)
                 .values_list("pk", flat=True))
    assert in_python == in_sql and {rows[1].pk, rows[2].pk} <= in_sql
    assert rows[0].pk not in in_sql and rows[3].pk not in in_sql
