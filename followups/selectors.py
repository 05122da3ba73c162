"""Reads shared by the pages, the API and reports, scoped to the user's stores, with a
fixed number of queries whatever the number of rows."""

from datetime import datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm_site.figures import Figure, defined_as
from crm_site.models import Message, User
from crm_site.scoping import for_user
from customers.models import Customer, ServiceVisit, Vehicle

from . import rules
from .models import (
    OPEN_STATUSES,
    Appointment,
    CallAttempt,
    CampaignMember,
    CancelReason,
    CareClass,
    Channel,
    ClassInvitation,
    ClubMember,
    ClubSettings,
    FollowupSettings,
    LoungePreference,
    LoungeVisit,
    Outcome,
    PlannerRun,
    Programme,
    RefusalReason,
    SatisfactionAnswer,
    SatisfactionQuestion,
    Step,
    Task,
)

REACHED = (Outcome.Kind.REACHED, Outcome.Kind.BOOKED, Outcome.Kind.REFUSED)


def tasks_for(user):
    return for_user(Task.objects.all(), user)


def worklist(user, day, *, assignee=None):
    """Open calls planned up to `day` for the user (or `assignee`), most urgent first:
    the longest overdue, then the nearest deadline and N. Prefetches the programme's
    questions so the page's query count stays fixed. A call that may no longer be made
    (the customer withdrew consent to calls, was erased or merged away, the car was sold
    on or retired) is cancelled by the change itself (services, through the customers
    hooks), so this reads straight off task_worklist_idx with no filter on the customer."""
    questions = Prefetch(
        "programme__questions", to_attr="active_questions",
        queryset=SatisfactionQuestion.objects.filter(is_active=True).order_by("order", "id"))
    # The customer and car join the page's query; the few shared rows (steps,
    # programmes, stores, ...) come by prefetch: a 9-table join cost more to plan than
    # to run on a ledger of millions.
    return (tasks_for(user).worklist(day).filter(assignee=assignee or user)
            .select_related("customer", "vehicle")
            .prefetch_related("step", "programme", "outcome", "store", "campaign", "care_class",
                              questions)
            .order_by("planned_on", F("deadline_on").asc(nulls_last=True), "due_on", "id"))


def worklist_progress(user, day):
    """The day's progress of one caller (three counts): calls finished today, calls
    still open up to today, dials made today."""
    from .models import CallAttempt

    # Ranges on the indexed columns (not done_at__date), so a ledger of millions of
    # rows answers from the open-calls and done-by indexes.
    start = timezone.make_aware(datetime.combine(day, time()))
    end = start + timedelta(days=1)
    counts = {
        "open": Task.objects.worklist(day).filter(assignee=user).count(),
        "done": Task.objects.filter(done_by=user, done_at__gte=start, done_at__lt=end).count(),
        "dials": CallAttempt.objects.filter(caller=user, called_at__gte=start,
                                            called_at__lt=end).count(),
    }
    total = counts["open"] + counts["done"]
    counts["percent"] = round(100 * counts["done"] / total) if total else 100
    return counts


def outcome_choices():
    return list(Outcome.objects.filter(is_active=True).order_by("order", "code"))


def refusal_reasons():
    return list(RefusalReason.objects.filter(is_active=True).order_by("order", "code"))


def day_plan(user, day):
    """The day's plan per programme and step: tasks by channel and status."""
    return list(
        tasks_for(user).filter(planned_on=day)
        .values("programme__name", "programme__order", "step__code", "step__offset_days",
                "channel", "status")
        .annotate(n=Count("id"))
        .order_by("programme__order", "step__offset_days", "channel", "status"))


def last_planner_run():
    """The latest night of the planner that finished (PlannerRun), or None."""
    return PlannerRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()


def workload(user, day):
    """Open calls per assignee up to `day` (overdue counted apart) and done today."""
    rows = (tasks_for(user).calls()
            .values("assignee", "assignee__last_name", "assignee__first_name",
                    "assignee__username")
            .annotate(open=Count("id", filter=Q(status__in=OPEN_STATUSES, planned_on__lte=day)),
                      overdue=Count("id", filter=Q(status__in=OPEN_STATUSES,
                                                   planned_on__lt=day)),
                      done=Count("id", filter=Q(done_at__date=day)))
            .filter(Q(open__gt=0) | Q(done__gt=0))
            .order_by("assignee__username"))
    return list(rows)


def open_calls(user, day):
    """The open calls of the user's stores on `day`'s worklist (the plan page filters them
    through followups.filters.TaskFilter)."""
    return tasks_for(user).worklist(day)


def open_calls_page(calls, limit=200):
    return (calls.select_related("customer", "vehicle", "programme", "step", "assignee")
            .order_by("planned_on", "due_on", "id"))[:limit]


def callers(user):
    from crm_site.roles import Role

    return (for_user(User.objects.filter(is_active=True), user, "stores")
            .filter(groups__name__in=[Role.CALLER, Role.CR_SPECIALIST]).distinct()
            .order_by("username"))


def came_in_after_reminder():
    """A visit of the task's car from the task's day up to its due day (N) plus the
    appointment credit window: the one definition of "came in" after a reminder, for an
    `Exists(...)` over tasks (the funnel page and the dashboard's reminder funnel)."""
    credit = FollowupSettings.current().appointment_credit_days
    return ServiceVisit.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), date_in__gte=OuterRef("planned_on"),
        date_in__lte=OuterRef("due_on") + credit)


# A task whose window ended before anyone reached the customer (planner.tasks_expire).
NOT_IN_TIME = Q(status=Task.Status.EXPIRED, cancel_reason=CancelReason.NOT_IN_TIME)


def funnel(user, start, end, *, programme=None):
    """Per programme and step, tasks planned in [start, end] (of one programme, by code,
    when given): due, SMS sent, reached, booked, came in (came_in_after_reminder), expired
    (of which not reached in time: the call's window ended, NOT_IN_TIME) and cancelled."""
    task_type = ContentType.objects.get_for_model(Task)
    sms_sent = Message.objects.filter(content_type=task_type, object_id=OuterRef("pk"),
                                      status=Message.Status.SENT)
    qs = tasks_for(user).filter(planned_on__gte=start, planned_on__lte=end)
    if programme:
        qs = qs.filter(programme_code=programme)
    rows = (qs.annotate(sent=Exists(sms_sent), came=Exists(came_in_after_reminder()))
            .values("programme__name", "programme__order", "step__code", "step__offset_days",
                    "channel")
            .annotate(
                due=Count("id"),
                sms_sent=Count("id", filter=Q(sent=True)),
                reached=Count("id", filter=Q(outcome_kind__in=REACHED)),
                booked=Count("id", filter=Q(outcome_kind=Outcome.Kind.BOOKED)),
                came_in=Count("id", filter=Q(came=True)),
                expired=Count("id", filter=Q(status=Task.Status.EXPIRED)),
                not_in_time=Count("id", filter=NOT_IN_TIME),
                cancelled=Count("id", filter=Q(status=Task.Status.CANCELLED)))
            .order_by("programme__order", "step__offset_days", "channel"))
    return list(rows)


REMINDER_PROGRAMMES = ("first_service", "periodic_service", "insurance_renewal", "lapsed_recall")
# planned_on = N + offset (offsets -65 ... +7, moved to an earlier working day): these
# bounds let the (store, planned_on) index find a month's cycles.
PLANNED_BEFORE_DAYS, PLANNED_AFTER_DAYS = 90, 30


def reminder_cycles(store_ids, start, end, programme_code=None):
    """Tasks of the reminder programmes whose cycle is due (N) in [start, end)."""
    tasks = Task.objects.filter(
        store_id__in=list(store_ids),
        programme_code__in=[programme_code] if programme_code else REMINDER_PROGRAMMES,
        planned_on__gte=start - timedelta(days=PLANNED_BEFORE_DAYS),
        planned_on__lt=end + timedelta(days=PLANNED_AFTER_DAYS), due_on__gte=start, due_on__lt=end)
    return tasks


@defined_as(gettext_noop("进厂转化率：当月到期（N）的提醒客户为分母；提醒后至到期日加预约宽限天数内车辆进厂的客户为分子。"))
def reminder_conversion(store_ids, start, end, programme_code):
    """Came-in conversion of one reminder programme for cycles due in [start, end). The
    rows are customers (a customer reminded for two cars counts once)."""
    cycles = reminder_cycles(store_ids, start, end, programme_code)
    came = cycles.filter(Exists(came_in_after_reminder()))
    return Figure(Customer.objects.filter(pk__in=cycles.values("customer_id")),
                  Q(pk__in=came.values("customer_id")))


def reminder_funnel(store_ids, start, end):
    """Per reminder programme, customers whose cycle is due (N) in [start, end): due, SMS
    sent, reached, booked, came in (came_in_after_reminder) and not reached in time (a
    call's window ended, NOT_IN_TIME), in one query; [{"programme": code, "due": n, "sms":
    n, "reached": n, "booked": n, "came_in": n, "not_in_time": n}]
    in REMINDER_PROGRAMMES order. The came-in count is reminder_conversion's numerator."""
    rows = (reminder_cycles(store_ids, start, end)
            .annotate(came=Exists(came_in_after_reminder()))
            .values("programme_code")
            .annotate(due=Count("customer_id", distinct=True),
                      sms=Count("id", filter=Q(channel=Channel.SMS, status=Task.Status.DONE)),
                      reached=Count("customer_id", distinct=True,
                                    filter=Q(outcome_kind__in=REACHED)),
                      booked=Count("customer_id", distinct=True,
                                   filter=Q(outcome_kind=Outcome.Kind.BOOKED)),
                      came_in=Count("customer_id", distinct=True, filter=Q(came=True)),
                      not_in_time=Count("customer_id", distinct=True, filter=NOT_IN_TIME)))
    by_code = {row["programme_code"]: row for row in rows}
    empty = {"due": 0, "sms": 0, "reached": 0, "booked": 0, "came_in": 0, "not_in_time": 0}
    return [{"programme": code, **{k: by_code.get(code, empty)[k] for k in empty}}
            for code in REMINDER_PROGRAMMES]


def refusal_breakdown(user, start, end):
    return list(tasks_for(user).filter(planned_on__gte=start, planned_on__lte=end,
                                       reason__isnull=False)
                .values("programme__name", "reason__label").annotate(n=Count("id"))
                .order_by("programme__name", "-n"))


def programmes():
    return Programme.objects.prefetch_related(
        Prefetch("steps", queryset=Step.objects.order_by("order", "offset_days")),
        "questions").order_by("order", "code")


def appointments(user):
    return (for_user(Appointment.objects.all(), user)
            .select_related("customer", "vehicle", "programme", "created_by"))


# The lounge -------------------------------------------------------------------------------

def _active_vehicles():
    return Prefetch("customer__vehicles", to_attr="active_vehicles",
                    queryset=Vehicle.objects.filter(is_active=True).order_by("id"))


def lounge_visits(user):
    return (for_user(LoungeVisit.objects.all(), user)
            .select_related("store", "customer", "served_by"))


def lounge_board(user, day, *, limit=200):
    """The attendant's screen (two queries): visitors still in the lounge (whatever day
    they came) and those of `day` who have left, each with the customer, their stored
    preferences and their cars."""
    visits = list(
        lounge_visits(user).select_related("customer__lounge_preference")
        .filter(Q(departed_at__isnull=True) | Q(arrived_at__date=day))
        .prefetch_related(_active_vehicles())
        .order_by("-arrived_at", "-id")[:limit])
    waiting = [v for v in visits if v.departed_at is None]
    left = [v for v in visits if v.departed_at is not None]
    return {"waiting": waiting[::-1], "left": left, "total": len(visits)}


def lounge_find(user, term, *, limit=10):
    """Quick find at the bar, by plate or mobile (or name), through the customer list's
    own search; with each customer's stored preferences and cars (two queries)."""
    from customers.selectors import CustomerFilters, customer_list

    term = (term or "").strip()
    if len(term) < 2:
        return []
    return list(customer_list(user, CustomerFilters(q=term, sort="name"))
                .select_related("lounge_preference", "club_membership__level")[:limit])


def lounge_preference_of(customer):
    """The stored preferences of a customer, or None (the next visit starts from them)."""
    return LoungePreference.objects.filter(customer=customer).first()


# The owners' club ---------------------------------------------------------------------------

def club_members(user):
    return (for_user(ClubMember.objects.all(), user)
            .select_related("store", "customer", "level"))


def club_activities(user):
    """Club activities (events other than care classes) with their sign-ups, attendance
    among sign-ups, invitations and average feedback, counted in the same query."""
    accepted = Q(invitations__reply=ClassInvitation.Reply.ACCEPTED)
    return (for_user(CareClass.objects.exclude(kind=CareClass.Kind.CARE_CLASS), user)
            .select_related("store")
            .annotate(n_invited=Count("invitations", distinct=True),
                      n_signed_up=Count("invitations", filter=accepted, distinct=True),
                      n_attended=Count("invitations", distinct=True,
                                       filter=accepted & Q(invitations__attended=True)),
                      feedback_avg=Avg("invitations__feedback_rating"))
            .order_by("-starts_at", "-id"))


def club_kpis(user, today, now, *, months=12, store_id=None):
    """The club page's figures in five queries, whatever the number of members, visits
    or activities: members, new members per month, attendance rate of past activities,
    and the return-visit rate of member and non-member owners (C-card customers) over the
    window of ClubSettings ending today."""
    cfg = ClubSettings.current()
    members = for_user(ClubMember.objects.all(), user)
    in_store = {"store_id": store_id} if store_id else {}
    members = members.filter(**in_store)
    counts = members.aggregate(
        active=Count("id", filter=Q(left_on__isnull=True)),
        left=Count("id", filter=Q(left_on__isnull=False)))
    starts = rules.month_starts(today, months)
    joined = dict(members.filter(joined_on__gte=starts[0], joined_on__lte=today)
                  .annotate(month=TruncMonth("joined_on")).values("month")
                  .annotate(n=Count("id")).values_list("month", "n"))
    new_per_month = [{"month": start, "n": joined.get(start, 0)} for start in starts]

    activities = list(club_activities(user).filter(
        **in_store, is_cancelled=False, starts_at__lte=now, starts_at__date__gte=starts[0]))
    for activity in activities:
        activity.attendance_rate = rules.attendance_rate(activity.n_attended, activity.n_signed_up)
    signed_up = sum(a.n_signed_up for a in activities)
    attended = sum(a.n_attended for a in activities)

    first, last = rules.return_window(today, cfg.return_visit_days)
    is_member = ClubMember.objects.filter(customer=OuterRef("pk"), left_on__isnull=True)
    came_back = ServiceVisit.objects.filter(customer=OuterRef("pk"), date_in__gte=first,
                                            date_in__lte=last)
    owners = for_user(Customer.objects.filter(is_active=True, merged_into__isnull=True,
                                              card=Customer.Card.C, **in_store), user)
    back = (owners.annotate(member=Exists(is_member), back=Exists(came_back)).aggregate(
        members=Count("id", filter=Q(member=True)),
        members_back=Count("id", filter=Q(member=True, back=True)),
        others=Count("id", filter=Q(member=False)),
        others_back=Count("id", filter=Q(member=False, back=True))))
    return {
        "members": counts["active"], "left": counts["left"],
        "new_per_month": new_per_month,
        "new_this_month": new_per_month[-1]["n"],
        "activities": activities, "signed_up": signed_up, "attended": attended,
        "attendance_rate": rules.attendance_rate(attended, signed_up),
        "return_window": (first, last), "return_visit_days": cfg.return_visit_days,
        "member_owners": back["members"], "member_owners_back": back["members_back"],
        "member_return_rate": rules.share(back["members_back"], back["members"]),
        "other_owners": back["others"], "other_owners_back": back["others_back"],
        "other_return_rate": rules.share(back["others_back"], back["others"]),
    }


# Figures (crm_site.figures): each defined here once, read by the reports, the
# satisfaction dashboard, the scorecards and the API -------------------------------------------

# The follow-up calls after delivery and after service, and the department each serves.
FOLLOWUP_PROGRAMMES = {"post_delivery_followup": "sales", "post_service_followup": "service"}
SATISFIED = Q(rating__gte=SatisfactionAnswer.Rating.SATISFIED)
DISSATISFIED = Q(rating__lte=SatisfactionAnswer.Rating.DISSATISFIED)


def followup_calls(store_ids, start, end, *, department=None):
    """Follow-up calls of these stores planned in [start, end) (dates), not cancelled."""
    codes = [code for code, dept in FOLLOWUP_PROGRAMMES.items() if department in (None, dept)]
    return (Task.objects.filter(store_id__in=list(store_ids), channel=Channel.CALL,
                                programme_code__in=codes, planned_on__gte=start,
                                planned_on__lt=end)
            .exclude(status=Task.Status.CANCELLED))


@defined_as(gettext_noop("回访率：当月计划的回访电话（交车后、维修后，不含已取消）为分母；"
                         "接通客户（接通、预约或拒绝）的为分子。"))
def followup_rate(store_ids, start, end, *, department=None):
    """Follow-up rate of these stores for calls planned in [start, end)."""
    return Figure(followup_calls(store_ids, start, end, department=department),
                  Q(outcome_kind__in=REACHED), month=TruncMonth("planned_on"))


def survey_answers(store_ids, start, end, *, department=None):
    """Satisfaction answers of these stores given in [start, end) (dates)."""
    qs = SatisfactionAnswer.objects.filter(store_id__in=list(store_ids), answered_on__gte=start,
                                           answered_on__lt=end)
    if department is not None:
        qs = qs.filter(department=department)
    return qs


@defined_as(gettext_noop("满意率：当月回访中的全部评价为分母；评为满意或非常满意的为分子。"))
def satisfied_share(store_ids, start, end, *, department=None):
    """Satisfied share of these stores for answers given in [start, end)."""
    return Figure(survey_answers(store_ids, start, end, department=department), SATISFIED,
                  month=TruncMonth("answered_on"))


def recall_members(store_ids, start, end):
    """Cars drawn into the recall campaigns of these stores dated in [start, end)."""
    return CampaignMember.objects.filter(campaign__store_id__in=list(store_ids),
                                         campaign__date__gte=start, campaign__date__lt=end)


@defined_as(gettext_noop("召回率：当月召回活动抽取的客户为分母；活动日期后60天内车辆回厂的客户为分子。"))
def recall_rate(store_ids, start, end):
    """Recall rate of these stores for campaigns dated in [start, end). The rows are
    customers (a customer with two cars drawn counts once)."""
    members = recall_members(store_ids, start, end)
    back = members.filter(came_in_on__isnull=False, came_in_on__lte=F("campaign__date")
                          + timedelta(days=rules.RECALL_WINDOW_DAYS))
    return Figure(Customer.objects.filter(pk__in=members.values("customer_id")),
                  Q(pk__in=back.values("customer_id")))


def call_attempts(store_ids, start, end):
    """Calls dialled for tasks of these stores in [start, end) (aware datetimes)."""
    return CallAttempt.objects.filter(task__store_id__in=list(store_ids), called_at__gte=start,
                                      called_at__lt=end)


REACHED_CALL = ~Q(outcome__kind=Outcome.Kind.UNREACHABLE)


@defined_as(gettext_noop("接通率：拨打的电话为分母；接通客户（未接通以外的结果）的为分子。"))
def reach_rate(attempts):
    """Reach rate of `attempts` (call attempts, e.g. call_attempts)."""
    return Figure(attempts, REACHED_CALL, store="task__store_id")


@defined_as(gettext_noop("预约率：接通客户的电话为分母；接通并预约的为分子。"))
def booking_rate(attempts):
    """Booking rate of `attempts` (call attempts, e.g. call_attempts)."""
    return Figure(attempts.filter(REACHED_CALL), Q(outcome__kind=Outcome.Kind.BOOKED),
                  store="task__store_id")


def appointments_booked_for(store_ids, start, end):
    """Appointments of these stores booked for days in [start, end), not cancelled."""
    return (Appointment.objects.filter(store_id__in=list(store_ids), booked_for__gte=start,
                                       booked_for__lt=end)
            .exclude(status=Appointment.Status.CANCELLED))


@defined_as(gettext_noop("预约进厂率：预约日已到的预约（不含已取消）为分母；车辆已进厂的为分子。"))
def came_in_rate(appointments):
    """Came-in rate of `appointments` (e.g. appointments_booked_for, up to today)."""
    return Figure(appointments, Q(status=Appointment.Status.CAME_IN))


def message_purpose_labels(purposes):
    """{purpose: label} for the reminder messages among `purposes` ("<programme>:<step>"):
    the programme's name and the step's day, as the plan page writes them."""
    pairs = {tuple(p.split(":", 1)): p for p in purposes if p.count(":") == 1}
    steps = Step.objects.filter(
        programme__code__in={programme for programme, _step in pairs},
        code__in={step for _programme, step in pairs}).select_related("programme")
    labels = {}
    for step in steps:
        purpose = pairs.get((step.programme.code, step.code))
        if purpose:
            labels[purpose] = f"{step.programme.name} N{step.offset_days:+d}"
    return labels
