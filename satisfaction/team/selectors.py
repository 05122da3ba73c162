"""Reads of the team pages and API: the monthly scorecards (set-based, a fixed number
of queries however many staff), training status, talks and the vote."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import selectors as complaint_selectors
from crm_site.figures import percent
from crm_site.roles import Role
from crm_site.scoping import for_user
from followups import selectors as followup_selectors
from inspections import selectors as inspection_selectors
from inspections.models import Area, Rectification
from inspections.selectors import LATE

from .. import rules as srules
from ..models import (
    IncentiveRule,
    Measure,
    MysteryShopCheck,
    OneToOneTalk,
    SatisfactionPolicy,
    SmileVote,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)
from ..selectors import TargetBook
from . import rules

# The CR team whose KPIs the scorecard shows (besides anyone checked by a mystery
# shopper or charged for a display car in the month).
TEAM_ROLES = [Role.CALLER, Role.CR_SPECIALIST, Role.LOUNGE_ATTENDANT]
SCORECARD_MEASURES = [Measure.CALLS_MADE, Measure.REACH_RATE, Measure.BOOKING_RATE,
                      Measure.CAME_IN_RATE, Measure.COMPLAINT_SLA, Measure.RECTIFICATION_ON_TIME,
                      Measure.MS_SCORE]


def can_manage(user):
    return user.has_perm("satisfaction.manage_team")


def staff_of(store):
    return get_user_model().objects.filter(stores=store, is_active=True).order_by(
        "last_name", "first_name", "id")


def team_of(store):
    """The team members of a store (callers, CR specialists, lounge attendants)."""
    return staff_of(store).filter(
        Exists(get_user_model().groups.through.objects.filter(
            user_id=OuterRef("pk"), group__name__in=TEAM_ROLES)))


def policy_minutes(store_id):
    rows = {p.store_id: p.talk_min_minutes for p in SatisfactionPolicy.objects.filter(
        Q(store_id=store_id) | Q(store__isnull=True))}
    return rows.get(store_id) or rows.get(None) or 30


# Incentive rules -----------------------------------------------------------------------------

def incentive_rules(store_id):
    """{kind: rule} in force for a store: its own row, else the default row."""
    chosen = {}
    for rule in IncentiveRule.objects.filter(Q(store_id=store_id) | Q(store__isnull=True)):
        if rule.kind not in chosen or rule.store_id is not None:
            chosen[rule.kind] = rule
    return {kind: rule for kind, rule in chosen.items() if rule.is_active}


# Scorecards ------------------------------------------------------------------------------------

@dataclass
class Kpi:
    measure: str
    label: str
    value: Decimal | None
    numerator: int | None = None
    denominator: int | None = None
    target: object = None
    status: str | None = None


@dataclass
class Incentive:
    kind: str
    label: str
    count: int
    amount: Decimal

    @property
    def total(self):
        return self.amount * self.count


@dataclass
class Scorecard:
    store: object
    staff: object
    period: object
    kpis: list = field(default_factory=list)
    incentives: list = field(default_factory=list)

    @property
    def rewards(self):
        return sum((i.total for i in self.incentives if i.kind == IncentiveRule.Kind.MS_REWARD),
                   Decimal(0))

    @property
    def penalties(self):
        return sum((i.total for i in self.incentives if i.kind != IncentiveRule.Kind.MS_REWARD),
                   Decimal(0))

    @property
    def net(self):
        return self.rewards - self.penalties


def _by_user(rows, key):
    return {row[key]: row for row in rows}


def scorecards(store, period, *, now, staff_ids=None):
    """The monthly scorecard of each team member of `store` (or of `staff_ids` only):
    every KPI with its target and status, and the incentives earned. Eight queries
    whatever the number of staff or records."""
    start, end = srules.period_bounds(period, store.time_zone)
    next_month = srules.add_months(period, 1)
    month_checks = MysteryShopCheck.objects.filter(store=store, checked_on__gte=period,
                                                   checked_on__lt=next_month)
    display_late = Rectification.objects.filter(store=store, area=Area.DISPLAY_CARS,
                                                due_at__gte=start, due_at__lt=end).filter(LATE)
    people = staff_of(store)
    if staff_ids is not None:
        people = people.filter(pk__in=list(staff_ids))
    else:
        people = people.filter(
            Exists(get_user_model().groups.through.objects.filter(
                user_id=OuterRef("pk"), group__name__in=TEAM_ROLES))
            | Exists(month_checks.filter(staff_id=OuterRef("pk")))
            | Exists(display_late.filter(responsible_id=OuterRef("pk"))))
    people = list(people)
    ids = [p.pk for p in people]
    if not ids:
        return []
    attempts = followup_selectors.call_attempts([store.pk], start, end).filter(caller_id__in=ids)
    made = dict(attempts.order_by().values_list("caller_id").annotate(n=Count("id")))
    reached = followup_selectors.reach_rate(attempts).by(staff="caller_id")
    booked = followup_selectors.booking_rate(attempts).by(staff="caller_id")
    # Appointments count once their day has come (a booking for next week is not a miss).
    due_until = min(next_month, timezone.localtime(now, ZoneInfo(store.time_zone)).date() + timedelta(days=1))
    came = followup_selectors.came_in_rate(followup_selectors.appointments_booked_for(
        [store.pk], period, due_until).filter(created_by_id__in=ids)).by(staff="created_by_id")
    kept = complaint_selectors.sla_kept(complaint_selectors.received_between(
        [store.pk], start, end).filter(owner_id__in=ids), now).by(staff="owner_id")
    rectifications = Rectification.objects.filter(responsible_id__in=ids, store=store,
                                                  due_at__gte=start, due_at__lt=end)
    on_time = inspection_selectors.rectifications_on_time(rectifications, now).by(
        staff="responsible_id")
    late_display = dict(rectifications.filter(area=Area.DISPLAY_CARS, due_at__lt=now)
                        .filter(inspection_selectors.LATE).order_by()
                        .values_list("responsible_id").annotate(n=Count("id")))
    checks = {}
    for staff_id, score in month_checks.filter(staff_id__in=ids).values_list("staff_id", "score"):
        checks.setdefault(staff_id, []).append(score)
    book = TargetBook([store.pk], [period])
    in_force = incentive_rules(store.pk)
    result = []
    for person in people:
        scores = checks.get(person.pk, [])

        def share(counts, pk=person.pk):
            numerator, denominator = counts.get(pk, (0, 0))
            return percent(numerator, denominator), numerator, denominator
        figures = {
            Measure.CALLS_MADE: (Decimal(made.get(person.pk, 0)), None, None),
            Measure.REACH_RATE: share(reached),
            Measure.BOOKING_RATE: share(booked),
            Measure.CAME_IN_RATE: share(came),
            Measure.COMPLAINT_SLA: share(kept),
            Measure.RECTIFICATION_ON_TIME: share(on_time),
            Measure.MS_SCORE: (srules.average(scores), None, len(scores)),
        }
        card = Scorecard(store=store, staff=person, period=period)
        for measure in SCORECARD_MEASURES:
            value, numerator, denominator = figures[measure]
            target = book.get(measure, store.pk, period)
            card.kpis.append(Kpi(measure=measure, label=Measure(measure).label, value=value,
                                 numerator=numerator, denominator=denominator, target=target,
                                 status=srules.target_status(value, target)))
        reward = in_force.get(IncentiveRule.Kind.MS_REWARD)
        penalty = in_force.get(IncentiveRule.Kind.MS_PENALTY)
        outcomes = [rules.ms_incentive(s, reward_at=reward.threshold if reward else None,
                                       penalty_below=penalty.threshold if penalty else None)
                    for s in scores]
        if reward:
            card.incentives.append(Incentive(reward.kind, reward.get_kind_display(),
                                             outcomes.count(rules.REWARD), reward.amount))
        if penalty:
            card.incentives.append(Incentive(penalty.kind, penalty.get_kind_display(),
                                             outcomes.count(rules.PENALTY), penalty.amount))
        display = in_force.get(IncentiveRule.Kind.DISPLAY_CAR_PENALTY)
        if display:
            card.incentives.append(Incentive(display.kind, display.get_kind_display(),
                                             late_display.get(person.pk, 0), display.amount))
        result.append(card)
    return result


# Training ---------------------------------------------------------------------------------------

def plans_for_store(store):
    """Active plans of a store: its own rows, and the defaults it has no own row for."""
    rows = list(TrainingPlan.objects.filter(Q(store=store) | Q(store__isnull=True)).order_by(
        "frequency", "code", "store_id"))
    own = {p.code for p in rows if p.store_id is not None}
    return [p for p in rows if p.is_active and (p.store_id is not None or p.code not in own)]


def training_overview(store, today):
    """Each plan of the store with its status (done this period, overdue) - two queries."""
    plans = plans_for_store(store)
    since = srules.add_months(today.replace(day=1), -2)
    held = {}
    for plan_id, day in TrainingSession.objects.filter(
            store=store, held_on__gte=since - timedelta(days=7)).values_list("plan_id", "held_on"):
        held.setdefault(plan_id, []).append(day)
    first = TrainingSession.objects.filter(store=store).order_by("held_on").values_list(
        "held_on", flat=True).first()
    return [(plan, rules.training_status(plan.frequency, today, held.get(plan.pk, []), since=first))
            for plan in plans]


def sessions_for(user):
    return for_user(TrainingSession.objects.select_related("store", "plan", "trainer"), user)


def attendance_for(user):
    """Assessment rows a user may see: every row of their stores for a manager, their
    own otherwise."""
    rows = for_user(TrainingAttendance.objects.select_related("session", "session__plan", "staff"),
                    user, "session__store")
    return rows if can_manage(user) else rows.filter(staff=user)


# Talks ------------------------------------------------------------------------------------------

def talks_for(user):
    rows = for_user(OneToOneTalk.objects.select_related("store", "staff", "held_by"), user)
    return rows if can_manage(user) else rows.filter(staff=user)


@dataclass
class TalkStatus:
    staff: object
    talks: list
    minimum: int

    @property
    def done(self):
        return any(not rules.talk_short(t.minutes, self.minimum) for t in self.talks)

    @property
    def short(self):
        return [t for t in self.talks if rules.talk_short(t.minutes, self.minimum)]


def talk_overview(store, period):
    """Each team member with this month's talks: who has had none of the minimum length."""
    minimum = policy_minutes(store.pk)
    talks = {}
    for talk in OneToOneTalk.objects.filter(store=store, held_on__gte=period,
                                            held_on__lt=srules.add_months(period, 1)).order_by("held_on"):
        talks.setdefault(talk.staff_id, []).append(talk)
    return [TalkStatus(member, talks.get(member.pk, []), minimum) for member in team_of(store)]


# The vote ---------------------------------------------------------------------------------------

@dataclass
class VoteResult:
    period: object
    counts: list  # [(user, votes)], most first
    winners: list
    voters: int

    @property
    def tie(self):
        return len(self.winners) > 1


def vote_results(store, periods):
    """Results per month: counts per nominee and the winner(s) (ties stay ties). Two queries."""
    rows = list(SmileVote.objects.filter(store=store, period__in=list(periods)).values(
        "period", "nominee_id").annotate(votes=Count("id")))
    users = get_user_model().objects.in_bulk({r["nominee_id"] for r in rows})
    results = []
    for period in periods:
        counts = {r["nominee_id"]: r["votes"] for r in rows if r["period"] == period}
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        results.append(VoteResult(
            period=period, counts=[(users[i], n) for i, n in ranked],
            winners=[users[i] for i in rules.vote_winners(counts)], voters=sum(counts.values())))
    return results


def my_vote(store, period, user):
    return SmileVote.objects.filter(store=store, period=period, voter=user).select_related(
        "nominee").first()


def average_training_score(rows):
    return srules.average([r.score for r in rows if r.score is not None])



def message_purpose_labels(purposes):
    """{purpose: label} for the greetings the team sends its own staff."""
    return {"staff_greeting": _("员工祝福")} if "staff_greeting" in purposes else {}
