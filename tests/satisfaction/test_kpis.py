"""Each KPI from known rows, with the edge cases: nothing due (not applicable), and the
month boundary at midnight Asia/Shanghai. And the closed loop: a dissatisfied answer
opens exactly one complaint."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from complaints import models as complaints
from followups import models as followups
from satisfaction import selectors, services
from satisfaction.models import Measure, SurveyComplaint

from .factories import import_scores, ms_check

pytestmark = pytest.mark.django_db
MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)



def _figures(store, periods):
    return {(f.period, f.measure): f for f in selectors.kpi_table([store.pk], periods)}


@pytest.fixture
def customer(store):
    from customers.services import customer_create

    return customer_create(store=store, name="王小明", mobile="13800138000")


_SEQ = iter(range(10**6))


def _another_customer(store):
    from customers.services import customer_create

    n = next(_SEQ)
    return customer_create(store=store, name=f"客户{n}", mobile=f"139{n:08d}")


def _task(store, customer, planned_on, *, kind="", code="post_service_followup", status="done",
          channel="call"):
    if followups.Task.objects.filter(customer=customer).exists():
        customer = _another_customer(store)
    programme = followups.Programme.objects.get(code=code)
    step = programme.steps.filter(channel=channel).first()
    return followups.Task.objects.create(
        store=store, programme=programme, programme_code=code, step=step, customer=customer,
        due_on=planned_on - timedelta(days=step.offset_days), offset_days=step.offset_days,
        planned_on=planned_on, channel=channel, status=status, outcome_kind=kind)


def _answer(task, rating, caller, answered_on=None, question=None):
    question = question or followups.SatisfactionQuestion.objects.filter(
        programme=task.programme).first()
    answer, _created = followups.SatisfactionAnswer.objects.update_or_create(
        task=task, question=question, defaults={
            "store_id": task.store_id, "programme_code": task.programme_code,
            "department": question.department, "rating": rating, "reason": "等太久",
            "answered_on": answered_on or task.planned_on, "caller": caller})
    from django.db import transaction

    from followups import hooks

    with transaction.atomic():  # as the outcome service does, inside its transaction
        hooks.answers_recorded(task=task, answers=[answer])
    return answer


class TestFollowupFigures:
    def test_followup_rate_reached_over_due(self, store, customer):
        for kind in ("reached", "booked", "refused", "unreachable", ""):
            _task(store, customer, date(2026, 5, 3), kind=kind,
                  status="planned" if not kind else "done")
        _task(store, customer, date(2026, 5, 4), kind="reached", status="cancelled")  # not due
        _task(store, customer, date(2026, 6, 1), kind="reached")  # next month
        figure = _figures(store, [MAY])[(MAY, Measure.FOLLOWUP_RATE)]
        assert (figure.numerator, figure.denominator, figure.value) == (3, 5, Decimal("60.0"))
        assert figure.status == "missed"  # target 80 %

    def test_no_calls_due_is_not_applicable(self, store):
        figure = _figures(store, [MAY])[(MAY, Measure.FOLLOWUP_RATE)]
        assert figure.value is None and figure.denominator == 0
        assert figure.status is None
        share = _figures(store, [MAY])[(MAY, Measure.SATISFIED_SHARE)]
        assert share.value is None

    def test_satisfied_share(self, store, customer, caller, django_capture_on_commit_callbacks):
        questions = list(followups.SatisfactionQuestion.objects.filter(
            programme__code="post_service_followup"))
        task = _task(store, customer, date(2026, 5, 10), kind="reached")
        with django_capture_on_commit_callbacks(execute=False):
            for question, rating in zip(questions, [5, 4, 4, 2], strict=False):
                _answer(task, rating, caller, question=question)
        figure = _figures(store, [MAY])[(MAY, Measure.SATISFIED_SHARE)]
        assert (figure.numerator, figure.denominator) == (3, 4)
        assert figure.value == Decimal("75.0")

    def test_another_stores_calls_do_not_count(self, store, other_store, customer):
        _task(store, customer, date(2026, 5, 3), kind="reached")
        figures = {(f.store_id, f.measure): f for f in
                   selectors.kpi_table([store.pk, other_store.pk], [MAY])}
        assert figures[(store.pk, Measure.FOLLOWUP_RATE)].value == Decimal("100.0")
        assert figures[(other_store.pk, Measure.FOLLOWUP_RATE)].value is None

    def test_reminder_funnel(self, store, customer):
        from satisfaction import sources

        _task(store, customer, date(2026, 5, 10), code="first_service", kind="booked")
        funnel = {row["programme"]: row for row in sources.reminder_funnel([store.pk], MAY)}
        first = funnel["first_service"]
        assert first["reached"] == 1 and first["booked"] == 1
        assert funnel["insurance_renewal"]["conversion"] is None

    def test_came_in_after_a_reminder_counts_to_the_end_of_the_credit_window(self, store,
                                                                             cr_manager):
        """One definition of "came in": a visit of the car from the reminder's day to N plus
        the credit window; the funnel page, the dashboard's funnel and its conversion figure
        count the same customers."""
        from customers.models import ServiceVisit
        from followups import selectors as followup_selectors
        from satisfaction import sources
        from tests.customers.factories import make_vehicle

        credit = followups.FollowupSettings.current().appointment_credit_days
        due = date(2026, 5, 20)
        visits = {"on_last_day": due + timedelta(days=credit),
                  "a_day_late": due + timedelta(days=credit + 1),
                  "before_reminder": due - timedelta(days=30), "none": None}
        for n, (_name, visit_on) in enumerate(visits.items()):
            owner = _another_customer(store)
            car = make_vehicle(owner, n=900 + n)
            task = _task(store, owner, due - timedelta(days=14), code="first_service",
                         kind="booked")
            followups.Task.objects.filter(pk=task.pk).update(vehicle=car, due_on=due)
            if visit_on:
                ServiceVisit.objects.create(vehicle=car, customer=owner, store=store,
                                            repair_type="first_service", date_in=visit_on)
        line = {row["programme"]: row for row in
                sources.reminder_funnel([store.pk], MAY)}["first_service"]
        assert (line["came_in"], line["due"]) == (1, 4)
        figure = followup_selectors.reminder_conversion([store.pk], MAY, JUNE, "first_service")
        assert (figure.numerator, figure.denominator) == (line["rate_numerator"],
                                                          line["rate_denominator"]) == (1, 4)
        assert line["conversion"] == Decimal("25.0")
        page = followup_selectors.funnel(cr_manager, date(2026, 4, 1), date(2026, 5, 31))
        assert sum(row["came_in"] for row in page) == 1


class TestComplaintFigures:
    def _complaint(self, actor, customer, received_at):
        from complaints.services import complaint_open

        return complaint_open(actor=actor, customer=customer, channel="phone", category="other",
                              description="测试", received_at=received_at)

    def test_midnight_beijing_boundary(self, cr_manager, store, customer):
        # 15:59:59 UTC on 31 May is 23:59:59 in Beijing (May); 16:00:00 UTC is June.
        with time_machine.travel(datetime(2026, 6, 2, 0, 0, tzinfo=UTC), tick=False):
            self._complaint(cr_manager, customer, datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC))
            self._complaint(cr_manager, customer, datetime(2026, 5, 31, 16, 0, 0, tzinfo=UTC))
            self._complaint(cr_manager, customer, datetime(2026, 6, 1, 3, 0, 0, tzinfo=UTC))
        may = selectors.kpi_table([store.pk], [MAY])
        june = selectors.kpi_table([store.pk], [JUNE])
        summary_may = {f.measure: f for f in may}
        summary_june = {f.measure: f for f in june}
        assert summary_may[Measure.COMPLAINT_RESPONSE].denominator == 1
        assert summary_june[Measure.COMPLAINT_RESPONSE].denominator == 2

    def test_no_complaints_is_not_applicable(self, store):
        figure = _figures(store, [MAY])[(MAY, Measure.COMPLAINT_RESPONSE)]
        assert figure.value is None


class TestManufacturerAndMystery:
    def test_css_score_rank_and_grade_against_targets(self, cr_manager, store):
        import_scores(cr_manager, store, "CSS", "2026-05", {"S01": 960}, total=951, rank=41, grade="B")
        figures = _figures(store, [MAY])
        score = figures[(MAY, Measure.CSS_SCORE)]
        assert score.value == Decimal("951") and score.status == "met"
        assert score.grade_status == "secure"
        assert figures[(MAY, Measure.CSS_RANK)].status == "missed"  # top 40 wanted

    def test_ms_score_is_the_average_of_the_months_checks(self, cr_manager, sales_manager, store):
        ms_check(cr_manager, store, sales_manager, [10, 10], checked_on=date(2026, 5, 31))
        ms_check(cr_manager, store, sales_manager, [10, 7], checked_on=date(2026, 5, 1))
        ms_check(cr_manager, store, sales_manager, [0, 0], checked_on=date(2026, 6, 1))
        figure = _figures(store, [MAY])[(MAY, Measure.MS_SCORE)]
        assert figure.value == Decimal("92.50")
        assert figure.status == "met"
        assert figure.denominator == 2


class TestSurveyComplaint:
    def test_dissatisfied_answer_opens_exactly_one_complaint(
            self, store, customer, caller, django_capture_on_commit_callbacks):
        task = _task(store, customer, timezone.localdate(), kind="reached")
        with django_capture_on_commit_callbacks(execute=True):
            _answer(task, 2, caller)
        with django_capture_on_commit_callbacks(execute=True):
            _answer(task, 1, caller)  # the outcome saved again
        services.survey_complaint_open(task_id=task.pk)
        services.survey_complaints_sweep(since=timezone.localdate() - timedelta(days=7))
        assert complaints.Complaint.objects.count() == 1
        link = SurveyComplaint.objects.get(task_id=task.pk)
        complaint = complaints.Complaint.objects.get(pk=link.complaint_id)
        assert complaint.customer == customer
        assert complaint.channel == "followup_call"
        assert "等太久" in complaint.description

    def test_through_the_followup_outcome_service(self, store, customer, caller,
                                                  django_capture_on_commit_callbacks):
        from followups.services import task_record_outcome

        task = _task(store, customer, timezone.localdate(), status="planned")
        questions = followups.SatisfactionQuestion.objects.filter(programme=task.programme)
        answers = [{"question": q, "rating": 4 if i else 2, "reason": "" if i else "收费不清"}
                   for i, q in enumerate(questions)]
        with django_capture_on_commit_callbacks(execute=True):
            task_record_outcome(task=task, actor=caller, outcome="reached", answers=answers)
        services.survey_complaints_sweep(since=timezone.localdate())
        assert complaints.Complaint.objects.count() == 1

    def test_satisfied_answers_open_nothing(self, store, customer, caller,
                                            django_capture_on_commit_callbacks):
        task = _task(store, customer, timezone.localdate(), kind="reached")
        with django_capture_on_commit_callbacks(execute=True):
            _answer(task, 3, caller)
        assert services.survey_complaint_open(task_id=task.pk) is None
        assert not complaints.Complaint.objects.exists()

    def test_a_call_that_raised_a_complaint_is_linked_not_doubled(
            self, store, customer, caller, cr_manager, django_capture_on_commit_callbacks):
        from complaints.services import complaint_open

        task = _task(store, customer, timezone.localdate(), kind="reached")
        existing = complaint_open(actor=caller, customer=customer, channel="followup_call",
                                  category="other", description="电话中提出")
        followups.Task.objects.filter(pk=task.pk).update(complaint_id=existing.pk)
        with django_capture_on_commit_callbacks(execute=True):
            _answer(task, 1, caller)
        assert complaints.Complaint.objects.count() == 1
        assert SurveyComplaint.objects.get(task_id=task.pk).opened is False


class TestMonthlySummary:
    def test_refresh_then_read_from_the_summary(self, store, other_store, customer):
        from satisfaction.models import MonthlyFigure

        _task(store, customer, date(2026, 5, 3), kind="reached")
        services.figures_refresh(periods=[MAY])
        services.figures_refresh(periods=[MAY])  # idempotent
        assert MonthlyFigure.objects.filter(store=store, period=MAY,
                                            measure=Measure.FOLLOWUP_RATE).count() == 1
        _task(store, customer, date(2026, 5, 4), kind="unreachable")  # after the refresh
        figure = _figures(store, [MAY])[(MAY, Measure.FOLLOWUP_RATE)]
        assert figure.value == Decimal("100.0") and figure.computed_at is not None
        live = {f.measure: f for f in selectors.kpi_table([store.pk], [MAY], live=True)}
        assert live[Measure.FOLLOWUP_RATE].value == Decimal("50.0")
        assert figure.status == "met"  # targets still applied to summary figures

    def test_months_not_in_the_summary_are_computed_live(self, store, customer):
        _task(store, customer, date(2026, 6, 3), kind="reached")
        services.figures_refresh(periods=[MAY])
        figures = _figures(store, [MAY, JUNE])
        assert figures[(JUNE, Measure.FOLLOWUP_RATE)].value == Decimal("100.0")
        assert figures[(JUNE, Measure.FOLLOWUP_RATE)].computed_at is None
        assert figures[(MAY, Measure.FOLLOWUP_RATE)].value is None


@pytest.mark.django_db(transaction=True)
def test_two_processes_open_one_complaint(store, caller):
    """Two workers (the hook and the sweep) at once: one complaint, one link."""
    import threading

    from django.db import connection

    from customers.services import customer_create

    customer = customer_create(store=store, name="并发客户", mobile="13600000001")
    task = _task(store, customer, timezone.localdate(), kind="reached")
    _answer(task, 1, caller)  # autocommit: the hook already opened it ...
    complaints.Complaint.objects.all().delete()
    SurveyComplaint.objects.all().delete()  # ... so start again from nothing
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            barrier.wait()
            services.survey_complaint_open(task_id=task.pk)
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert complaints.Complaint.objects.count() == 1
    assert SurveyComplaint.objects.filter(task_id=task.pk).count() == 1


class TestAnswersRecordedHook:
    def test_satisfaction_registers_its_hook_once(self):
        from django.apps import apps

        from followups import hooks as followup_hooks
        from satisfaction import hooks

        apps.get_app_config("satisfaction").ready()
        assert followup_hooks.answers_recorded.functions().count(hooks.answers_recorded) == 1

    def test_the_registry_is_what_opens_the_complaint(self, store, customer, caller, monkeypatch,
                                                      django_capture_on_commit_callbacks):
        from followups import hooks as followup_hooks
        from followups.services import task_record_outcome
        from satisfaction import hooks

        def record(task):
            question = followups.SatisfactionQuestion.objects.filter(programme=task.programme).first()
            with django_capture_on_commit_callbacks(execute=True):
                task_record_outcome(task=task, actor=caller, outcome="reached", answers=[
                    {"question": question, "rating": 1, "reason": "没洗车"}])

        monkeypatch.setattr(followup_hooks.answers_recorded, "_functions", [])
        record(_task(store, customer, timezone.localdate(), status="planned"))
        assert not complaints.Complaint.objects.exists()
        monkeypatch.setattr(followup_hooks.answers_recorded, "_functions", [hooks.answers_recorded])
        task = _task(store, customer, timezone.localdate(), status="planned")
        record(task)
        assert SurveyComplaint.objects.filter(task_id=task.pk).count() == 1
        assert complaints.Complaint.objects.count() == 1

    def test_a_raw_answer_row_opens_nothing(self, store, customer, caller,
                                            django_capture_on_commit_callbacks):
        task = _task(store, customer, timezone.localdate(), kind="reached")
        question = followups.SatisfactionQuestion.objects.filter(programme=task.programme).first()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            followups.SatisfactionAnswer.objects.create(
                task=task, question=question, store=store, programme_code=task.programme_code,
                rating=1, reason="x", answered_on=task.planned_on, caller=caller)
        assert callbacks == [] and not complaints.Complaint.objects.exists()
