"""Reads shared by the pages, the API and reports, scoped to the user's stores, with a
fixed number of queries whatever the number of rows."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q

from crm_site.models import Message, User
from crm_site.scoping import for_user
from customers.models import ServiceVisit

from .models import (
    OPEN_STATUSES,
    Appointment,
    Channel,
    FollowupSettings,
    Outcome,
    Programme,
    RefusalReason,
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
    questions so the page's query count stays fixed."""
    questions = Prefetch(
        "programme__questions", to_attr="active_questions",
        queryset=SatisfactionQuestion.objects.filter(is_active=True).order_by("order", "id"))
    return (tasks_for(user).worklist(day).filter(assignee=assignee or user)
            .select_related("customer", "vehicle", "step", "programme", "outcome", "store",
                            "campaign", "care_class")
            .prefetch_related(questions)
            .order_by("planned_on", F("deadline_on").asc(nulls_last=True), "due_on", "id"))


def worklist_progress(user, day):
    """The day's progress of one caller (two queries): calls finished today, calls
    still open up to today, dials made today."""
    from .models import CallAttempt

    counts = Task.objects.filter(Q(assignee=user) | Q(done_by=user)).aggregate(
        open=Count("id", filter=Q(assignee=user, status__in=OPEN_STATUSES,
                                  channel=Channel.CALL, planned_on__lte=day)),
        done=Count("id", filter=Q(done_by=user, done_at__date=day)),
    )
    counts["dials"] = CallAttempt.objects.filter(caller=user, called_at__date=day).count()
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


def open_calls(user, day, *, assignee=None, programme=None, limit=200):
    qs = (tasks_for(user).worklist(day)
          .select_related("customer", "vehicle", "programme", "step", "assignee")
          .order_by("planned_on", "due_on", "id"))
    if assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee_id=assignee)
    if programme:
        qs = qs.filter(programme_id=programme)
    return qs[:limit]


def callers(user):
    from crm_site.roles import Role

    return (for_user(User.objects.filter(is_active=True), user, "stores")
            .filter(groups__name__in=[Role.CALLER, Role.CR_SPECIALIST]).distinct()
            .order_by("username"))


def funnel(user, start, end, *, programme=None):
    """Per programme and step, tasks planned in [start, end]: due, SMS sent, reached,
    booked, came in (a visit between the task's day and N plus the credit window)."""
    credit = FollowupSettings.current().appointment_credit_days
    task_type = ContentType.objects.get_for_model(Task)
    sms_sent = Message.objects.filter(content_type=task_type, object_id=OuterRef("pk"),
                                      status=Message.Status.SENT)
    came_in = ServiceVisit.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), date_in__gte=OuterRef("planned_on"),
        date_in__lte=OuterRef("due_on") + credit)
    qs = tasks_for(user).filter(planned_on__gte=start, planned_on__lte=end)
    if programme:
        qs = qs.filter(programme_id=programme)
    rows = (qs.annotate(sent=Exists(sms_sent), came=Exists(came_in))
            .values("programme__name", "programme__order", "step__code", "step__offset_days",
                    "channel")
            .annotate(
                due=Count("id"),
                sms_sent=Count("id", filter=Q(sent=True)),
                reached=Count("id", filter=Q(outcome_kind__in=REACHED)),
                booked=Count("id", filter=Q(outcome_kind=Outcome.Kind.BOOKED)),
                came_in=Count("id", filter=Q(came=True)),
                expired=Count("id", filter=Q(status=Task.Status.EXPIRED)),
                cancelled=Count("id", filter=Q(status=Task.Status.CANCELLED)))
            .order_by("programme__order", "step__offset_days", "channel"))
    return list(rows)


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
