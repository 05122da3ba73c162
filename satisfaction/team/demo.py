"""Demo data of the team: birthdays and mobiles of the demo staff, eight weeks of
training (last week's brand-standard study missed, so it shows overdue) with scores,
this month's one-to-one talks (one too short, one missing), three months of smile
service star votes (one month a tie), a store's own reward amount, and today's staff
greetings in the outbox. Idempotent: a store with training sessions is left alone."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q

from .. import rules as srules
from ..models import IncentiveRule, SmileVote, TrainingPlan, TrainingSession
from . import rules, selectors, services


def seed(context):
    out = context["stdout"]
    store, staff, today = context["store"], context["staff"], context["today"]
    manager = staff.get("cr_manager")
    if manager is None or TrainingSession.objects.filter(store=store).exists():
        return
    _people(store, today)
    team = list(selectors.team_of(store))
    everyone = list(selectors.staff_of(store))
    _training(store, manager, team, today)
    _calls(store, staff, today)
    _talks(store, manager, staff, today)
    _votes(store, everyone, today)
    services.incentive_rule_set(actor=manager, store=store, kind=IncentiveRule.Kind.MS_REWARD,
                                threshold=Decimal(90), amount=Decimal(300),
                                note="本店暗访90分以上每次奖励300元")
    queued = services.staff_greetings_queue(day=today)
    out.write(f"  satisfaction team: training, talks, votes, incentives; {queued} staff greetings queued")


def _people(store, today):
    for index, person in enumerate(get_user_model().objects.filter(stores=store).order_by("id")):
        changed = False
        if not person.mobile:
            person.mobile = f"1390000{index:04d}"
            changed = True
        if person.birthday is None:
            # The CR specialist has a birthday today, so the greeting shows in the outbox.
            day = today if person.username == "cr_specialist" else today + timedelta(days=11 * (index + 1))
            person.birthday = _safe(day, 1990 + index % 10)
            changed = True
        if changed:
            person.save(update_fields=["mobile", "birthday"])


def _calls(store, staff, today):
    """Some of today's calls made by the caller and the CR specialist, so their call,
    reach and booking rates have figures. Needs the follow-ups floor."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from followups.models import Channel, RefusalReason, Step, Task
    from followups.services import task_record_outcome

    pattern = ["booked", "reached", "no_answer", "booked", "refused", "reached", "busy", "will_consider",
               "switched_off", "booked"]
    reason = RefusalReason.objects.filter(code="too_busy").first()
    for role, count in (("caller", 10), ("cr_specialist", 6)):
        person = staff.get(role)
        if person is None:
            continue
        tasks = Task.objects.open().filter(
            store=store, channel=Channel.CALL, planned_on__lte=today,
            step__purpose__in=[Step.Purpose.REMIND, Step.Purpose.INVITE],
        ).filter(Q(assignee__isnull=True) | Q(assignee=person)).order_by("id")[:count]
        for index, task in enumerate(tasks):
            code = pattern[index % len(pattern)]
            try:
                task_record_outcome(task=task, actor=person, outcome=code,
                                    reason=reason if code == "refused" else None,
                                    appointment_on=today + timedelta(days=3) if code == "booked" else None,
                                    appointment_purpose="保养" if code == "booked" else "")
            except (ValidationError, PermissionDenied):
                continue


def _safe(day, year):
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _training(store, manager, team, today):
    plans = {p.code: p for p in TrainingPlan.objects.filter(store__isnull=True)}
    week = rules.period_start("weekly", today)
    for weeks_ago in range(2, 9):  # last week is missed: the plan shows overdue
        day = week - timedelta(weeks=weeks_ago) + timedelta(days=2)
        _session(store, manager, team, plans["brand_standard"], day, f"品牌标准学习第{9 - weeks_ago}讲",
                 45, weeks_ago)
    for months_ago, code in ((1, "etiquette"), (1, "process"), (2, "etiquette"), (2, "process")):
        day = srules.add_months(today.replace(day=1), -months_ago) + timedelta(days=9 + months_ago)
        topic = "接待礼仪与电话礼仪" if code == "etiquette" else "回访流程与投诉处理流程"
        _session(store, manager, team, plans[code], day, topic, 90, months_ago + 3)
    if today.day > 3:
        _session(store, manager, team, plans["etiquette"], today.replace(day=2), "仪容仪表规范", 60, 1)


def _session(store, manager, team, plan, day, topic, minutes, seed_value):
    attendance = []
    for index, person in enumerate(team):
        present = (index + seed_value) % 5 != 0
        score = Decimal(78 + (index * 7 + seed_value * 3) % 21) if present else None
        attendance.append((person, present, score, ""))
    services.training_session_record(actor=manager, store=store, plan=plan, held_on=day, topic=topic,
                                     minutes=minutes, attendance=attendance)


def _talks(store, manager, staff, today):
    day = today.replace(day=1)
    for role, minutes, note in (("caller", 45, "回顾本月回访接通率，约定下月提升到85%。"),
                                ("cr_specialist", 25, "临时面谈，时间不足，需补谈。")):
        person = staff.get(role)
        if person:
            services.one_to_one_talk_record(actor=manager, store=store, staff=person, held_on=day,
                                            minutes=minutes, notes=note)


def _votes(store, everyone, today):
    current = today.replace(day=1)
    for months_ago in (1, 2, 3):
        period = srules.add_months(current, -months_ago)
        rows = []
        for index, voter in enumerate(everyone):
            others = [p for p in everyone if p.pk != voter.pk]
            if not others:
                continue
            # Two months ago the two favourites tie; other months one of them wins.
            favourites = others[:2] if months_ago == 2 else others[:1]
            nominee = favourites[index % len(favourites)]
            rows.append(SmileVote(store=store, period=period, voter=voter, nominee=nominee,
                                  reason="服务热情，笑容满面"))
        if months_ago == 2 and len(everyone) >= 3:
            rows = _tie(rows, everyone)
        SmileVote.objects.bulk_create(rows, ignore_conflicts=True)


def _tie(rows, everyone):
    """Make the first two staff finish level: each voter picks whichever of the two
    has fewer votes so far (never themselves)."""
    a, b = everyone[0], everyone[1]
    counts = {a.pk: 0, b.pk: 0}
    for row in rows:
        choices = [p for p in (a, b) if p.pk != row.voter.pk]
        pick = min(choices, key=lambda p: counts[p.pk])
        counts[pick.pk] += 1
        row.nominee = pick
    if counts[a.pk] != counts[b.pk]:
        rows = rows[:-1]
    return rows
