"""Every figure has one owner and equals the rows behind it: on varied data (two stores,
three months; complaints answered exactly at the deadline, a minute late, paused; policies
renewed here, elsewhere or not at all; recalled customers back in time or too late), the
dashboard cards, the API, the complaint and inspection reports, the scorecards and the
drill-down lists all show the same numerator and denominator, and the figure is their
quotient."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from complaints import selectors as complaint_selectors
from complaints.models import Complaint
from complaints.services import complaint_open
from crm_site.figures import percent
from crm_site.roles import Role
from customers import selectors as customer_selectors
from customers.services import insurance_policy_record, insurance_renewal_record
from followups import selectors as followup_selectors
from followups.models import (
    Campaign,
    CampaignMember,
    Programme,
    SatisfactionAnswer,
    SatisfactionQuestion,
    Task,
)
from inspections import selectors as inspection_selectors
from inspections import services as inspection_services
from inspections.models import ChecklistTemplate, Inspection, InspectionResult, Outcome
from satisfaction import rules, selectors, sources
from satisfaction.models import Measure
from satisfaction.team import selectors as team_selectors
from tests.customers.factories import make_customer, make_vehicle

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIODS = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
NOW = datetime(2026, 7, 10, 4, 0, tzinfo=UTC)
PERCENT_MEASURES = [Measure.FOLLOWUP_RATE, Measure.SATISFIED_SHARE, Measure.COMPLAINT_RESPONSE,
                    Measure.COMPLAINT_RESOLUTION, Measure.INSPECTION_PASS]


def _day(rng, period):
    return period + timedelta(days=rng.randrange(28))


def _moment(rng, period):
    return datetime.combine(_day(rng, period), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
        minutes=rng.randrange(24 * 60))


class World:
    """Varied rows for two stores over three months, seeded."""

    def __init__(self, rng, stores, manager, staff):
        self.rng, self.stores, self.manager, self.staff = rng, stores, manager, staff
        self.serial = 0
        self.expected = {"at_deadline": [], "paused": [], "elsewhere": []}

    def next(self):
        self.serial += 1
        return self.serial

    def customer(self, store):
        return make_customer(store, n=self.next())

    def vehicle(self, customer):
        return make_vehicle(customer, n=self.next())

    def build(self):
        for store in self.stores:
            for period in PERIODS:
                self.followups(store, period)
                self.complaints(store, period)
                self.inspections(store, period)
                self.policies(store, period)
            self.recall(store)

    def followups(self, store, period):
        rng = self.rng
        for code in ("post_service_followup", "post_delivery_followup"):
            programme = Programme.objects.get(code=code)
            questions = list(SatisfactionQuestion.objects.filter(programme=programme))
            for _n in range(rng.randrange(2, 5)):
                channel = rng.choice(["call", "call", "sms"])
                step = programme.steps.filter(channel=channel).first() or programme.steps.first()
                planned = _day(rng, period)
                kind = rng.choice(["reached", "booked", "refused", "unreachable", ""])
                status = rng.choice(["done", "done", "cancelled"]) if kind else "planned"
                task = Task.objects.create(
                    store=store, programme=programme, programme_code=code, step=step,
                    customer=self.customer(store), due_on=planned - timedelta(days=step.offset_days),
                    offset_days=step.offset_days, planned_on=planned, channel=step.channel,
                    status=status, outcome_kind=kind)
                if kind in ("reached", "booked", "refused"):
                    for question in questions[:rng.randrange(len(questions) + 1)]:
                        SatisfactionAnswer.objects.create(
                            task=task, question=question, store=store, programme_code=code,
                            department=question.department, rating=rng.randrange(1, 6),
                            answered_on=planned, caller=self.staff)

    def complaints(self, store, period):
        rng = self.rng
        for index in range(rng.randrange(3, 6)):
            received = _moment(rng, period)
            with time_machine.travel(received + timedelta(minutes=1), tick=False):
                complaint = complaint_open(actor=self.manager, customer=self.customer(store),
                                           channel="phone", description="等待太久",
                                           received_at=received, owner=self.staff)
            complaint.refresh_from_db()
            fields = {}
            shape = ["at_deadline", "late", "early", "paused", "open"][index % 5]
            if shape == "at_deadline":
                fields = {"responded_at": complaint.response_due_at,
                          "resolved_at": complaint.resolution_due_at, "status": "closed"}
                self.expected["at_deadline"].append(complaint.pk)
            elif shape == "late":
                fields = {"responded_at": complaint.response_due_at + timedelta(seconds=1),
                          "resolved_at": complaint.resolution_due_at + timedelta(hours=3)}
            elif shape == "early":
                fields = {"responded_at": received + timedelta(minutes=5)}
            elif shape == "paused":
                fields = {"responded_at": received + timedelta(minutes=10),
                          "paused_at": received + timedelta(hours=2)}
                self.expected["paused"].append(complaint.pk)
            Complaint.objects.filter(pk=complaint.pk).update(**fields)

    def inspections(self, store, period):
        rng = self.rng
        template = ChecklistTemplate.objects.filter(store=store).order_by("area").first()
        items = list(template.items.filter(is_active=True).order_by("position"))
        for _n in range(rng.randrange(1, 4)):
            day = _day(rng, period)
            status = rng.choice(["completed", "completed", "in_progress"])
            inspection = Inspection.objects.create(
                store=store, template=template, area=template.area, day=day, status=status,
                scheduled_for=datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI))
            outcomes = [rng.choice([Outcome.PASS, Outcome.PASS, Outcome.FAIL, Outcome.NA])
                        for _item in items]
            InspectionResult.objects.bulk_create([
                InspectionResult(inspection=inspection, item=item, position=item.position,
                                 text=item.text, weight=item.weight, severity=item.severity,
                                 photo_required=False, outcome=outcome)
                for item, outcome in zip(items, outcomes, strict=True)])
            Inspection.objects.filter(pk=inspection.pk).update(
                pass_count=outcomes.count(Outcome.PASS), fail_count=outcomes.count(Outcome.FAIL))

    def policies(self, store, period):
        rng = self.rng
        for index in range(rng.randrange(2, 5)):
            vehicle = self.vehicle(self.customer(store))
            expires = _day(rng, period)
            due = insurance_policy_record(vehicle=vehicle, insurer="平安",
                                          starts_on=expires - timedelta(days=365), expires_on=expires)
            shape = ["here", "elsewhere", "none", "late"][index % 4]
            if shape == "none":
                continue
            starts = expires + timedelta(days=40 if shape == "late" else rng.choice([0, 1]))
            insurance_renewal_record(policy=due, insurer=rng.choice(["人保", "太平洋"]),
                                     starts_on=starts, bought_here=shape != "elsewhere")
            if shape == "elsewhere":
                self.expected["elsewhere"].append(due.pk)

    def recall(self, store):
        rng = self.rng
        programme = Programme.objects.get(code="lapsed_recall")
        for period in PERIODS[:2]:
            campaign = Campaign.objects.create(store=store, programme=programme, name="回厂礼",
                                               date=_day(rng, period), status=Campaign.Status.DRAWN)
            for _n in range(rng.randrange(2, 5)):
                customer = self.customer(store)
                back = rng.choice([None, 10, 59, 61])
                for _car in range(rng.choice([1, 1, 2])):
                    vehicle = self.vehicle(customer)
                    CampaignMember.objects.create(
                        campaign=campaign, vehicle=vehicle, customer=customer,
                        came_in_on=None if back is None else campaign.date + timedelta(days=back))


@pytest.fixture
def world(store, other_store, make_user):
    manager = make_user(Role.GENERAL_MANAGER, store, other_store, username="gm")
    staff = make_user(Role.CR_SPECIALIST, store, other_store, username="cr")
    for each in (store, other_store):
        inspection_services.checklists_ensure_for_store(store=each)
    built = World(random.Random(20260710), [store, other_store], manager, staff)
    built.build()
    return built


def _rows(figure):
    return figure.hit_rows.count(), figure.rows.count()


def test_every_figure_equals_its_rows_everywhere(world, client, store, other_store):
    """Cards, API, reports, scorecards and drill-downs agree, on every store and month."""
    client.force_login(world.manager)
    with time_machine.travel(NOW, tick=False):
        table = {(f.store_id, f.period, f.measure): f for f in
                 selectors.kpi_table([store.pk, other_store.pk], PERIODS, live=True)}
        for each in (store, other_store):
            api = {(row["period"][:7], row["measure"]): row for row in client.get(
                "/api/v1/kpis/", {"store": each.pk, "period": "2026-06", "months": 3}).json()}
            for period in PERIODS:
                start, end = rules.period_bounds(period)
                next_month = rules.add_months(period, 1)
                month = {"store": each.pk, "period": f"{period:%Y-%m}"}
                figures = {f: table[(each.pk, period, f)] for f in PERCENT_MEASURES}
                for measure, figure in figures.items():
                    # figure = numerator / denominator, with the one percent
                    assert figure.value == percent(figure.numerator, figure.denominator)
                    row = api[(f"{period:%Y-%m}", measure)]
                    assert (row["numerator"], row["denominator"]) == (figure.numerator,
                                                                      figure.denominator)

                # follow-up rate and satisfied share: the drill-down pages list the rows
                calls = selectors.followup_calls_for(world.manager, each, period)
                rate = figures[Measure.FOLLOWUP_RATE]
                assert calls.count() == rate.denominator
                assert calls.filter(outcome_kind__in=followup_selectors.REACHED).count() == rate.numerator
                page = client.get(reverse("satisfaction:followup-calls"), month)
                assert page.context["page"].paginator.count == rate.denominator
                share = figures[Measure.SATISFIED_SHARE]
                page = client.get(reverse("satisfaction:answers"), month)
                assert page.context["page"].paginator.count == share.denominator
                assert selectors.answers_for(world.manager, each, period).filter(
                    followup_selectors.SATISFIED).count() == share.numerator

                # complaint compliance: the card equals the complaint report's totals
                report = complaint_selectors.report(world.manager, start=start, end=end,
                                                    store=each.pk)["totals"]
                response, resolution = (figures[Measure.COMPLAINT_RESPONSE],
                                        figures[Measure.COMPLAINT_RESOLUTION])
                assert (report["response_in_time"], report["response_decided"]) == (
                    response.numerator, response.denominator)
                assert (report["resolution_in_time"], report["resolution_decided"]) == (
                    resolution.numerator, resolution.denominator)
                assert report["response_rate"] == response.value
                assert report["resolution_rate"] == resolution.value
                received = complaint_selectors.received_between([each.pk], start, end)
                owned = complaint_selectors.response_in_time(received, NOW)
                assert _rows(owned) == (response.numerator, response.denominator)

                # inspection pass rate: the card equals the inspection report of the month
                passing = figures[Measure.INSPECTION_PASS]
                inspections = inspection_selectors.report(
                    world.manager, start=period, end=next_month - timedelta(days=1), store=each,
                    today=NOW.date())["totals"]
                assert (inspections["passed"], inspections["passed"] + inspections["failed"]) == (
                    passing.numerator, passing.denominator)
                assert inspections["pass_rate"] == passing.value

                # the dashboard: cards, their tooltips, the panels and the renewal/recall rates
                page = client.get(reverse("satisfaction:dashboard"), month)
                cards = {card["figure"].measure: card for card in page.context["cards"]}
                for measure in PERCENT_MEASURES:
                    card = cards[measure]["figure"]
                    assert (card.numerator, card.denominator) == (figures[measure].numerator,
                                                                  figures[measure].denominator)
                    assert cards[measure]["definition"]
                html = page.content.decode()
                assert f'title="{cards[Measure.FOLLOWUP_RATE]["definition"]}"' in html
                data = page.context["data"]
                assert data.complaint_summary["totals"]["response_decided"] == response.denominator
                assert data.inspection_summary["passed"] == passing.numerator
                rates = {row["programme"]: row for row in page.context["rates"]}
                renewal = customer_selectors.renewal_rate([each.pk], period, next_month)
                recall = followup_selectors.recall_rate([each.pk], period, next_month)
                for code, figure, name in (("insurance_renewal", renewal, "satisfaction:renewals"),
                                           ("lapsed_recall", recall, "satisfaction:recalls")):
                    row = rates[code]
                    assert (row["rate_numerator"], row["rate_denominator"]) == _rows(figure)
                    assert row["conversion"] == percent(*_rows(figure))
                    listed = client.get(reverse(name), month).context["page"].paginator
                    assert listed.count == row["rate_denominator"]
                for row in data.funnel:
                    if row["rate_name"] == "conversion":
                        conversion = followup_selectors.reminder_conversion(
                            [each.pk], period, next_month, row["programme"])
                        assert (row["rate_numerator"], row["rate_denominator"]) == _rows(conversion)
                        assert row["came_in"] == row["rate_numerator"]
                policies = list(selectors.renewals_for(world.manager, each, period))
                assert sum(p.renewed_here for p in policies) == rates["insurance_renewal"]["rate_numerator"]
                recalled = list(selectors.recalls_for(world.manager, each, period))
                assert sum(c.came_back for c in recalled) == rates["lapsed_recall"]["rate_numerator"]

                # the scorecards: each column equals the owner's rows for that person
                cards = team_selectors.scorecards(each, period, now=NOW, staff_ids=[world.staff.pk])
                kpis = {kpi.measure: kpi for kpi in cards[0].kpis}
                kept = complaint_selectors.sla_kept(received.filter(owner=world.staff), NOW)
                assert (kpis[Measure.COMPLAINT_SLA].numerator,
                        kpis[Measure.COMPLAINT_SLA].denominator) == _rows(kept)
                for kpi in kpis.values():
                    if kpi.numerator is not None:
                        assert kpi.value == percent(kpi.numerator, kpi.denominator)


def test_the_edges_count_as_the_rules_say(world, store, other_store):
    """Answered exactly at the deadline is in time; a paused clock is neither in time nor
    missed; a renewal bought elsewhere is not a renewal here; two cars of one recalled
    customer count once."""
    everything = Complaint.objects.all()
    response = complaint_selectors.response_in_time(everything, NOW)
    resolution = complaint_selectors.resolution_in_time(everything, NOW)
    at_deadline = world.expected["at_deadline"]
    assert at_deadline
    assert response.hit_rows.filter(pk__in=at_deadline).count() == len(at_deadline)
    assert resolution.hit_rows.filter(pk__in=at_deadline).count() == len(at_deadline)
    assert not resolution.rows.filter(pk__in=world.expected["paused"]).exists()
    stores = [store.pk, other_store.pk]
    renewal = customer_selectors.renewal_rate(stores, PERIODS[0], rules.add_months(PERIODS[-1], 1))
    elsewhere = renewal.rows.filter(pk__in=world.expected["elsewhere"])
    assert elsewhere.exists() and not elsewhere.filter(renewed_here=True).exists()
    assert elsewhere.count() == elsewhere.filter(renewed_elsewhere=True).count()
    assert renewal.numerator < renewal.denominator
    recall = followup_selectors.recall_rate(stores, PERIODS[0], rules.add_months(PERIODS[-1], 1))
    drawn = CampaignMember.objects.values("customer_id").distinct().count()
    assert recall.denominator == drawn < CampaignMember.objects.count()
    assert sources.definition(Measure.COMPLAINT_RESPONSE) == str(
        complaint_selectors.response_in_time.definition)


def test_a_renewal_told_on_a_call_counts_here_or_elsewhere(store):
    """A caller records how each policy due was renewed; only the one bought here lifts
    the renewal rate, and the list behind it says which was which."""
    due_on = date(2026, 5, 20)
    policies = []
    for n in (1, 2, 3):
        vehicle = make_vehicle(make_customer(store, n=n), n=n)
        policies.append(insurance_policy_record(vehicle=vehicle, insurer="平安",
                                                starts_on=date(2025, 5, 21), expires_on=due_on))
    here = insurance_renewal_record(policy=policies[0], insurer="平安", bought_here=True)
    insurance_renewal_record(policy=policies[1], insurer="人保", bought_here=False)
    assert (here.starts_on, here.expires_on) == (date(2026, 5, 21), date(2027, 5, 20))
    figure = customer_selectors.renewal_rate([store.pk], date(2026, 5, 1), date(2026, 6, 1))
    assert (figure.numerator, figure.denominator, figure.percent) == (1, 3, Decimal("33.3"))
    shown = {p.pk: (p.renewed_here, p.renewed_elsewhere) for p in figure.rows}
    assert shown == {policies[0].pk: (True, False), policies[1].pk: (False, True),
                     policies[2].pk: (False, False)}


def test_renewal_and_recall_lists_run_the_same_queries_however_many_rows(world, client, store,
                                                                         other_store):
    """Each drill-down list answers with a fixed number of queries, whichever store and
    month (and so however many rows) it shows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.manager)
    with time_machine.travel(NOW, tick=False):
        for name in ("satisfaction:renewals", "satisfaction:recalls"):
            counts = {}
            for each in (store, other_store):
                for period in PERIODS:
                    with CaptureQueriesContext(connection) as queries:
                        page = client.get(reverse(name), {"store": each.pk,
                                                          "period": f"{period:%Y-%m}"})
                    assert page.status_code == 200
                    rows = len(page.context["page"].object_list)
                    if rows:
                        counts[rows] = len(queries)
            assert len(counts) >= 2, (name, counts)  # lists of different lengths compared
            assert len(set(counts.values())) == 1, (name, counts)
