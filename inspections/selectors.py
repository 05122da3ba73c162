"""Reads of the inspections floor shared by pages, API and reports. Every one is scoped
to the user's stores and loads its relations up front, so query counts stay fixed."""

from datetime import timedelta

from django.db.models import Avg, Case, Count, F, IntegerField, Prefetch, Q, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext_noop

from crm_site.figures import Figure, defined_as
from crm_site.models import User
from crm_site.scoping import for_user

from . import rules
from .models import (
    Area,
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionResult,
    Outcome,
    Photo,
    Rectification,
)


def _photos(lookup="photos"):
    photos = Photo.objects.select_related("uploaded_by").order_by("uploaded_at", "id")
    return Prefetch(lookup, queryset=photos)


def checklists_for(user):
    active_items = ChecklistItem.objects.filter(is_active=True).order_by("position", "id")
    return (for_user(ChecklistTemplate.objects.all(), user)
            .select_related("store", "responsible")
            .prefetch_related(Prefetch("items", queryset=active_items, to_attr="active_items"), "rules")
            .order_by("store__code", "area"))


def inspections_for(user):
    return (for_user(Inspection.objects.all(), user)
            .select_related("store", "template", "inspector"))


def inspection_with_results(user):
    """Rounds with their results, each result's photos and rectification, in order."""
    results = (InspectionResult.objects.select_related("responsible", "rectification")
               .prefetch_related(_photos()).order_by("position", "id"))
    return inspections_for(user).prefetch_related(Prefetch("results", queryset=results))


def rounds_on(user, day):
    """The rounds of a day in the user's stores, earliest first."""
    return inspections_for(user).filter(day=day).order_by("scheduled_for", "area", "id")


def rectifications_for(user):
    """All rectifications of the user's stores for those who may see them; otherwise only
    the ones the user is responsible for."""
    qs = Rectification.objects.select_related(
        "store", "result", "inspection", "responsible", "verified_by",
    ).prefetch_related(_photos(), _photos("result__photos"))
    if user.has_perm("inspections.view_rectification"):
        return for_user(qs, user)
    return for_user(qs.filter(responsible=user), user)


def my_rectifications(user):
    """What the user has to fix, the most urgent first, then what waits for a re-check."""
    urgency = Case(
        When(status=Rectification.Status.OVERDUE, then=Value(0)),
        When(status=Rectification.Status.OPEN, then=Value(1)),
        default=Value(2), output_field=IntegerField(),
    )
    return (rectifications_for(user).filter(responsible=user)
            .exclude(status=Rectification.Status.VERIFIED)
            .order_by(urgency, "due_at", "id"))


def staff_choices(store):
    return User.objects.filter(stores=store, is_active=True).order_by("last_name", "first_name", "username")


def report(user, *, start, end, store=None, today=None):
    """Manager figures for days start..end (inclusive): pass rate and mean score per
    area, per week and per responsible person; the daily trend per area; rounds planned
    before `today` and never completed. A fixed number of queries whatever the data."""
    planned = for_user(Inspection.objects.all(), user).filter(day__range=(start, end))
    if store is not None:
        planned = planned.filter(store=store)
    rounds = planned.filter(status=Inspection.Status.COMPLETED)
    rectifications = for_user(Rectification.objects.all(), user).filter(
        inspection__day__range=(start, end))
    if store is not None:
        rectifications = rectifications.filter(store=store)
    sums = {"rounds": Count("id"), "score": Avg("score"), "passed": Sum("pass_count"),
            "failed": Sum("fail_count")}

    def _rows(qs, key):
        out = []
        for row in qs:
            row["pass_rate"] = rules.pass_rate(row["passed"] or 0, row["failed"] or 0)
            out.append(row)
        return out

    labels = dict(Area.choices)
    by_area = _rows(rounds.values("area").annotate(**sums).order_by("area"), "area")
    for row in by_area:
        row["label"] = labels.get(row["area"], row["area"])
    by_week = _rows(rounds.annotate(week=TruncWeek("day")).values("week").annotate(**sums)
                    .order_by("week"), "week")
    by_person = list(
        rectifications.values("responsible", "responsible__last_name", "responsible__first_name",
                              "responsible__username")
        .annotate(total=Count("id"),
                  overdue=Count("id", filter=Q(overdue_at__isnull=False)),
                  unresolved=Count("id", filter=Q(status__in=["open", "overdue"])),
                  verified=Count("id", filter=Q(status="verified")))
        .order_by("-overdue", "-total")
    )
    for row in by_person:
        name = f"{row['responsible__last_name']}{row['responsible__first_name']}".strip()
        row["name"] = name or row["responsible__username"]
        on_time = row["total"] - row["overdue"]
        row["on_time_rate"] = rules.pass_rate(on_time, row["overdue"])
    daily = rounds.values("day", "area").annotate(score=Avg("score")).order_by("day", "area")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    series = {}
    for row in daily:
        series.setdefault(row["area"], {})[row["day"]] = round(float(row["score"]), 1) \
            if row["score"] is not None else None
    trend = {
        "days": [d.strftime("%m-%d") for d in days],
        "series": [{"name": str(labels.get(area, area)), "data": [values.get(d) for d in days]}
                   for area, values in sorted(series.items())],
    }
    totals = rounds.aggregate(**sums)
    figure = pass_rate(rounds)
    totals["passed"], totals["failed"] = figure.numerator, figure.denominator - figure.numerator
    totals["missed"] = planned.exclude(status=Inspection.Status.COMPLETED).filter(
        day__lt=today or end).count()
    totals["pass_rate"] = figure.percent
    return {"by_area": by_area, "by_week": by_week, "by_person": by_person, "trend": trend,
            "totals": totals}


def failure_photos(user, *, start, end, store=None, limit=24):
    """The latest photos of failures, for the manager's gallery."""
    qs = (for_user(Photo.objects.filter(kind=Photo.Kind.BEFORE, result__outcome=Outcome.FAIL), user)
          .filter(result__inspection__day__range=(start, end))
          .select_related("result", "result__inspection", "uploaded_by")
          .order_by("-uploaded_at", "-id"))
    if store is not None:
        qs = qs.filter(store=store)
    return qs[:limit]


def photo_visible(user, name):
    """Whether `user` may see the stored photo `name`: it belongs to a round they may
    read, or to a rectification they may read (their own, for the person responsible),
    the failure's own photo included: it shows what there is to fix."""
    readable = rectifications_for(user).values("pk")
    visible = Q(rectification__in=readable) | Q(result__rectification__in=readable)
    if user.has_perm("inspections.view_inspection"):
        visible |= Q(result__inspection__in=inspections_for(user).values("pk"))
    return Photo.objects.filter(image=name).filter(visible).exists()


# Figures (crm_site.figures) ------------------------------------------------------------------

def completed_rounds(store_ids, start, end):
    """Completed rounds of these stores on days in [start, end)."""
    return Inspection.objects.filter(store_id__in=list(store_ids), day__gte=start, day__lt=end,
                                     status=Inspection.Status.COMPLETED)


@defined_as(gettext_noop("巡检合格率：已完成巡检中判定的检查项（不适用项不计）为分母；合格项为分子。"))
def pass_rate(rounds):
    """Inspection pass rate of `rounds` (completed rounds, e.g. completed_rounds). The
    rows are the items judged."""
    return Figure(InspectionResult.objects.filter(inspection__in=rounds.values("pk"),
                                                  outcome__in=(Outcome.PASS, Outcome.FAIL)),
                  Q(outcome=Outcome.PASS), store="inspection__store_id",
                  month=TruncMonth("inspection__day"))


LATE = Q(overdue_at__isnull=False) | Q(fixed_at__gt=F("due_at"))


@defined_as(gettext_noop("整改及时率：截止时间已到的整改为分母；在截止时间前完成且从未超时的为分子。"))
def rectifications_on_time(rectifications, now):
    """Rectification timeliness of `rectifications` whose deadline has come by `now`."""
    return Figure(rectifications.filter(due_at__lt=now),
                  Q(fixed_at__isnull=False) & ~LATE, month=TruncMonth("due_at"))
