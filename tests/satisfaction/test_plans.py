"""Improvement plans: PDCA steps in order, approval, and the closing rules (the item
recovers in a later month, or a manager closes it with a reason)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from satisfaction import services
from satisfaction.models import ImprovementPlan, WeakItem
from tests.validation import refused

from .factories import import_scores, ms_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def weak_item(cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-04", {"S01": 990, "S02": 920})
    return WeakItem.objects.get(code="S02")


@pytest.fixture
def plan(sales_manager, store, weak_item):
    return services.improvement_plan_create(actor=sales_manager, store=store, title="交车讲解",
                                            department="sales", owner=sales_manager,
                                            weak_item=weak_item)


def _fill_to_approval(plan, actor, owner):
    services.improvement_plan_update(actor=actor, plan=plan, problem="交车讲解得分920")
    services.improvement_plan_advance(actor=actor, plan=plan)
    services.improvement_plan_update(actor=actor, plan=plan, breakdown="功能讲解不完整")
    services.improvement_plan_advance(actor=actor, plan=plan)
    services.improvement_plan_update(actor=actor, plan=plan, target_text="下月达到950")
    services.improvement_plan_advance(actor=actor, plan=plan)
    services.improvement_plan_update(actor=actor, plan=plan, whys=["没讲", "没时间", "排队", "", ""],
                                     root_cause="交车区排班不足")
    services.improvement_plan_advance(actor=actor, plan=plan)
    services.countermeasure_add(actor=actor, plan=plan, action="增加交车专员", owner=owner,
                                due_on=timezone.localdate() + timedelta(days=7))
    plan.refresh_from_db()
    return plan


def test_new_plan_takes_the_weak_items_target(plan, weak_item):
    assert plan.status == ImprovementPlan.Status.DRAFT
    assert plan.step == ImprovementPlan.Step.PROBLEM
    assert plan.target_score == Decimal("950")


def test_steps_need_their_content_before_moving_on(plan, sales_manager):
    with pytest.raises(ValidationError) as error:
        services.improvement_plan_advance(actor=sales_manager, plan=plan)
    assert "step" in error.value.message_dict


def test_whys_are_at_most_five_and_blanks_dropped(plan, sales_manager):
    plan = services.improvement_plan_update(actor=sales_manager, plan=plan, whys=["a", " ", "b"])
    assert plan.whys == ["a", "b"]
    with refused("whys", "最多填写5个为什么。"):
        services.improvement_plan_update(actor=sales_manager, plan=plan, whys=list("abcdef"))


def test_implementation_needs_approval(plan, sales_manager, cr_manager):
    plan = _fill_to_approval(plan, sales_manager, sales_manager)
    assert plan.step == ImprovementPlan.Step.COUNTERMEASURES
    with refused("step", "计划需先经CR主管批准才能实施。"):
        services.improvement_plan_advance(actor=sales_manager, plan=plan)
    with pytest.raises(PermissionDenied):
        services.improvement_plan_approve(actor=sales_manager, plan=plan)
    services.improvement_plan_approve(actor=cr_manager, plan=plan)
    plan = services.improvement_plan_advance(actor=sales_manager, plan=plan)
    assert plan.step == ImprovementPlan.Step.IMPLEMENTATION
    assert plan.status == ImprovementPlan.Status.IN_PROGRESS


def test_plan_closes_when_the_item_recovers_next_month(plan, cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 990, "S02": 951})
    plan.refresh_from_db()
    assert plan.status == ImprovementPlan.Status.CLOSED
    assert plan.closed_how == ImprovementPlan.ClosedHow.RECOVERED
    assert plan.last_checked_period == date(2026, 5, 1)
    assert plan.last_checked_score == Decimal("951")


def test_plan_stays_open_while_the_item_has_not_recovered(plan, cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 990, "S02": 940})
    plan.refresh_from_db()
    assert plan.is_open
    assert plan.last_checked_score == Decimal("940")
    # the same month's report, or the other survey, does not close it either
    import_scores(cr_manager, store, "CSS", "2026-04", {"S01": 990, "S02": 999})
    import_scores(cr_manager, store, "CSI", "2026-06", {"S02": 999})
    plan.refresh_from_db()
    assert plan.is_open
    import_scores(cr_manager, store, "CSS", "2026-06", {"S01": 990, "S02": 960})
    plan.refresh_from_db()
    assert plan.status == ImprovementPlan.Status.CLOSED


def test_another_stores_report_never_closes_the_plan(plan, general_manager, other_store):
    import_scores(general_manager, other_store, "CSS", "2026-05", {"S02": 999})
    plan.refresh_from_db()
    assert plan.is_open


def test_manager_closes_with_a_reason_only(plan, cr_manager, sales_manager):
    with pytest.raises(PermissionDenied):
        services.improvement_plan_close(actor=sales_manager, plan=plan, reason="不需要")
    with refused("reason", "请填写关闭原因。"):
        services.improvement_plan_close(actor=cr_manager, plan=plan, reason="  ")
    plan = services.improvement_plan_close(actor=cr_manager, plan=plan, reason="厂家取消该题")
    assert plan.closed_how == ImprovementPlan.ClosedHow.MANAGER
    assert plan.closed_by == cr_manager
    with refused("status", "计划已关闭，不能修改。"):
        services.improvement_plan_update(actor=cr_manager, plan=plan, problem="改")


def test_plan_must_stay_in_its_store(sales_manager, store, other_store, other_manager, weak_item):
    with refused("store", "您无权操作该门店。"):
        services.improvement_plan_create(actor=sales_manager, store=other_store, title="x",
                                         department="sales", owner=sales_manager,
                                         weak_item=weak_item)
    with pytest.raises(ValidationError) as error:
        services.improvement_plan_create(actor=sales_manager, store=store, title="x",
                                         department="sales", owner=other_manager,
                                         weak_item=weak_item)
    assert "owner" in error.value.message_dict


def test_a_plan_addresses_something(sales_manager, store):
    with refused("weak_item", "请关联薄弱项、投诉类别或巡检区域。"):
        services.improvement_plan_create(actor=sales_manager, store=store, title="x",
                                         department="sales", owner=sales_manager)
    plan = services.improvement_plan_create(actor=sales_manager, store=store, title="等待时间",
                                            department="service", owner=sales_manager,
                                            complaint_category="waiting_time")
    assert plan.pk


def test_weak_item_with_a_plan_survives_a_reimport(plan, cr_manager, store):
    import_scores(cr_manager, store, "CSS", "2026-04", {"S01": 990, "S02": 999, "S03": 995,
                                                        "S04": 996, "S05": 997})
    assert WeakItem.objects.filter(pk=plan.weak_item_id).exists()


class TestMysteryShopping:
    def test_score_is_points_over_possible(self, cr_manager, sales_manager, store):
        check = ms_check(cr_manager, store, sales_manager, [10, 5, 15])  # of 10, 10, 15
        assert check.score == Decimal("85.71")
        assert check.results.count() == 3

    def test_open_checks_by_managers_covert_by_cr(self, caller, sales_manager, store):
        with refused("kind", "明检由经理进行，暗访由客户关爱部进行。"):
            ms_check(caller, store, sales_manager, [10], kind="open")
        assert ms_check(caller, store, sales_manager, [10], kind="covert").pk
        assert ms_check(sales_manager, store, sales_manager, [10], kind="open").pk
        with refused("kind", "明检由经理进行，暗访由客户关爱部进行。"):
            ms_check(sales_manager, store, sales_manager, [10], kind="covert")

    def test_points_above_the_item_maximum_are_refused(self, cr_manager, sales_manager, store):
        with refused("results", "检查项“客户进店30秒内主动问候”的得分应在 0 到 10 之间。"):
            ms_check(cr_manager, store, sales_manager, [11])

    def test_staff_of_another_store_cannot_be_checked(self, cr_manager, other_manager, store):
        with refused("staff", "被检员工不属于该门店。"):
            ms_check(cr_manager, store, other_manager, [10])

    def test_month_close_finds_weak_ms_items(self, cr_manager, sales_manager, store):
        day = date(2026, 5, 10)
        ms_check(cr_manager, store, sales_manager, [10, 10, 9, 15], checked_on=day)
        ms_check(cr_manager, store, sales_manager, [10, 6, 9, 13], checked_on=day)
        from satisfaction.tasks import month_close

        month_close("2026-05")
        month_close("2026-05")
        weak = dict(WeakItem.objects.filter(survey="ms").values_list("code", "reason"))
        # rates: S01 100, S02 80, S03 60, S04 93.33; target 90 %, bottom 3
        assert weak == {"S03": "both", "S02": "both", "S04": "bottom"}
        assert WeakItem.objects.get(code="S02").score == Decimal("80.0")
