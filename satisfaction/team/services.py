"""Every write of the team records: training sessions, talks, votes, incentive rules,
training plans and the daily staff greetings."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.models import Message
from crm_site.scoping import check_store, works_for
from crm_site.selectors import national_days
from crm_site.services import message_queue
from crm_site.settings_pages import row_save

from .. import rules as srules
from ..models import (
    Frequency,
    IncentiveRule,
    OneToOneTalk,
    SmileVote,
    StaffGreeting,
    TrainingAttendance,
    TrainingSession,
)
from . import rules


def _require_manager(actor, store):
    if not actor.has_perm("satisfaction.manage_team"):
        raise PermissionDenied(_("您没有管理团队的权限。"))
    check_store(actor, store, field="store")


def _is_staff_of(user, store):
    return get_user_model().objects.filter(pk=user.pk, stores=store, is_active=True).exists()


def _score(value, field):
    if value in (None, ""):
        return None
    try:
        score = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({field: _("考核得分：请输入0到100之间的数字。")}) from None
    if not Decimal(0) <= score <= Decimal(100):
        raise ValidationError({field: _("考核得分：请输入0到100之间的数字。")})
    return score


# Training ------------------------------------------------------------------------------------

@transaction.atomic
def training_plan_update(*, actor, plan, frequency, name=None, is_active=None):
    """A manager changes how often a training is due (or renames / retires it)."""
    if not actor.has_perm("satisfaction.change_trainingplan"):
        raise PermissionDenied(_("您没有修改培训计划的权限。"))
    if plan.store_id is not None and not works_for(actor, plan.store_id):
        raise PermissionDenied(_("您无权操作该门店。"))
    if frequency not in Frequency.values:
        raise ValidationError({"frequency": _("频次：请选择每周或每月。")})
    plan.frequency = frequency
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("培训：请填写名称。")})
        plan.name = name.strip()
    if is_active is not None:
        plan.is_active = is_active
    plan.save()
    return plan


@transaction.atomic
def training_session_record(*, actor, store, plan, held_on, topic, minutes, attendance, notes="",
                            trainer=None):
    """Record a training held in a store: who attended and, when assessed, their scores.
    `attendance` is [(staff, attended, score or None, remark), ...]. All or nothing."""
    _require_manager(actor, store)
    if plan.store_id not in (None, store.pk):
        raise ValidationError({"plan": _("培训计划不属于该门店。")})
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("培训日期：不能晚于今天。")})
    if not (topic or "").strip():
        raise ValidationError({"topic": _("主题：请填写培训主题。")})
    if not minutes or int(minutes) < 1:
        raise ValidationError({"minutes": _("时长：请填写培训分钟数。")})
    if not attendance:
        raise ValidationError({"attendance": _("出勤：请至少登记一名员工。")})
    trainer = trainer or actor
    session = TrainingSession(store=store, plan=plan, held_on=held_on, topic=topic.strip(),
                              minutes=int(minutes), notes=notes or "", trainer=trainer)
    session.save()
    staff_ids = set(get_user_model().objects.filter(stores=store, is_active=True).values_list(
        "pk", flat=True))
    seen = set()
    rows = []
    for staff, attended, score, remark in attendance:
        if staff.pk not in staff_ids:
            raise ValidationError({"attendance": _("出勤：%(name)s 不是该门店员工。") % {"name": staff}})
        if staff.pk in seen:
            continue
        seen.add(staff.pk)
        score = _score(score, "attendance")
        if score is not None and not attended:
            raise ValidationError({"attendance": _("考核得分：缺勤的员工不能有考核得分。")})
        rows.append(TrainingAttendance(session=session, staff=staff, attended=bool(attended),
                                       score=score, remark=(remark or "")[:200]))
    for row in rows:
        row.save()
    return session


# One-to-one talks --------------------------------------------------------------------------

@transaction.atomic
def one_to_one_talk_record(*, actor, store, staff, held_on, minutes, notes=""):
    """A manager records a one-to-one talk with a team member."""
    _require_manager(actor, store)
    if not _is_staff_of(staff, store):
        raise ValidationError({"staff": _("员工：不是该门店员工。")})
    if staff.pk == actor.pk:
        raise ValidationError({"staff": _("员工：不能与自己面谈。")})
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("面谈日期：不能晚于今天。")})
    if minutes is None or int(minutes) < 1:
        raise ValidationError({"minutes": _("时长：请填写面谈分钟数。")})
    return OneToOneTalk.objects.create(store=store, staff=staff, held_by=actor, held_on=held_on,
                                       minutes=int(minutes), notes=notes or "")


# The smile service star ------------------------------------------------------------------------

def smile_vote_cast(*, actor, store, nominee, reason="", now=None):
    """A member of staff votes for this month's smile service star of their store: once a
    month, never for themselves."""
    now = now or timezone.now()
    period = srules.period_of(now, store.time_zone)
    if not _is_staff_of(actor, store):
        raise ValidationError({"store": _("只能在本人所在门店投票。")})
    if nominee.pk == actor.pk:
        raise ValidationError({"nominee": _("候选人：不能投票给自己。")})
    if not _is_staff_of(nominee, store):
        raise ValidationError({"nominee": _("候选人：不是该门店员工。")})
    try:
        with transaction.atomic():
            return SmileVote.objects.create(store=store, period=period, voter=actor, nominee=nominee,
                                            reason=(reason or "")[:200])
    except IntegrityError:
        raise ValidationError({"nominee": _("本月您已经投过票了。")}) from None


# Incentive rules -------------------------------------------------------------------------------

@transaction.atomic
def incentive_rule_set(*, actor, store, kind, amount, threshold=None, is_active=True, note=""):
    """A store sets its own amount (and score line) for one incentive; the default row
    stays for the other stores."""
    _require_manager(actor, store)
    if not actor.has_perm("satisfaction.change_incentiverule"):
        raise PermissionDenied(_("您没有修改奖惩规则的权限。"))
    if kind not in IncentiveRule.Kind.values:
        raise ValidationError({"kind": _("类型：未知的奖惩类型。")})
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationError({"amount": _("金额：请输入数字。")}) from None
    if amount < 0:
        raise ValidationError({"amount": _("金额：不能为负数。")})
    if kind != IncentiveRule.Kind.DISPLAY_CAR_PENALTY:
        if threshold in (None, ""):
            raise ValidationError({"threshold": _("分数线：请填写0到100之间的分数。")})
        threshold = Decimal(str(threshold))
        if not Decimal(0) <= threshold <= Decimal(100):
            raise ValidationError({"threshold": _("分数线：请填写0到100之间的分数。")})
    else:
        threshold = None
    rule, _created = IncentiveRule.objects.update_or_create(
        store=store, kind=kind,
        defaults={"amount": amount, "threshold": threshold, "is_active": is_active, "note": note or ""})
    return rule


# Staff greetings ---------------------------------------------------------------------------------

def _greeting_rows(day):
    """The greeting rows due on `day`, the store's own row winning over the default of
    the same occasion."""
    rows = list(StaffGreeting.objects.filter(is_active=True).order_by("store_id", "id"))
    national, years = national_days(day - timedelta(days=1), day)
    return [row for row in rows
            if row.occasion == StaffGreeting.Occasion.BIRTHDAY
            or rules.greeting_due(row.occasion, day, month=row.month, day_of_month=row.day,
                                  festival=row.festival, national=national, entered_years=years)]


def _pick(rows, store_id):
    chosen = {}
    for row in rows:
        if row.store_id not in (None, store_id):
            continue
        key = (row.occasion, row.festival, row.month, row.day)
        if key not in chosen or row.store_id is not None:
            chosen[key] = row
    return list(chosen.values())


def staff_greetings_queue(*, day=None):
    """Daily: queue one SMS per member of staff whose birthday it is, and one per staff
    member per holiday greeting due today, through the outbox. The dedupe key (greeting,
    person, year) makes a second run, or a second beat, queue nothing. Returns how many
    messages were new."""
    day = day or timezone.localdate()
    rows = _greeting_rows(day)
    if not rows:
        return 0
    holidays = [r for r in rows if r.occasion != StaffGreeting.Occasion.BIRTHDAY]
    User = get_user_model()
    people = User.objects.filter(is_active=True).exclude(mobile="").filter(stores__is_active=True)
    if not holidays:
        birthdays = Q(birthday__month=day.month, birthday__day=day.day)
        if (day.month, day.day) == (2, 28):
            birthdays |= Q(birthday__month=2, birthday__day=29)
        people = people.filter(birthdays)
    people = list(people.distinct().prefetch_related("stores").order_by("id"))
    planned = []
    for person in people:
        stores = sorted((s for s in person.stores.all() if s.is_active), key=lambda s: s.pk)
        store = stores[0]
        for row in _pick(rows, store.pk):
            if row.occasion == StaffGreeting.Occasion.BIRTHDAY:
                if not rules.birthday_on(person.birthday, day):
                    continue
                key = f"staff-greeting:birthday:{person.pk}:{day.year}"
            else:
                key = f"staff-greeting:{row.occasion}:{row.festival or row.pk}:{person.pk}:{day.year}"
            planned.append((store, person, row, key))
    existing = set(Message.objects.filter(dedupe_key__in=[p[3] for p in planned]).values_list(
        "dedupe_key", flat=True))
    created = 0
    for store, person, row, key in planned:
        if key in existing:
            continue
        name = person.get_full_name() or person.username
        message_queue(store=store, recipient=person.mobile, template_code=row.template_code,
                      params={"name": name, "store": store.name},
                      text=row.text.replace("{name}", name), purpose="staff_greeting",
                      dedupe_key=key, subject=person)
        created += 1
    return created


GREETING_FIELDS = ("store", "name", "occasion", "month", "day", "festival", "template_code",
                   "text", "is_active")


@transaction.atomic
def staff_greeting_save(*, actor, row=None, change_note, **fields):
    """A manager adds or changes a greeting to staff (birthday, a date every year, a
    festival) for their store; stopped with is_active off, never deleted."""
    return row_save(actor=actor, model=StaffGreeting, row=row, change_note=change_note,
                    permission="satisfaction.change_staffgreeting" if row else
                    "satisfaction.add_staffgreeting", fields=fields, editable=GREETING_FIELDS)
