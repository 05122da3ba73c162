"""Every write of the site-wide floor, named after what the business does."""

import logging
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from . import rules
from .models import (
    Activity,
    CalendarOverride,
    CalendarYear,
    Message,
    Notification,
    OpeningHours,
    Store,
    User,
)
from .roles import Role, staff_change_refusal
from .scoping import stores_of
from .sms import SmsError, get_backend

logger = logging.getLogger(__name__)

DEFAULT_HOURS = (time(8, 30), time(18, 0))
DEFAULT_CALL_HOURS = (time(8, 30), time(17, 30))


# Stores -------------------------------------------------------------------------------

@transaction.atomic
def store_create(*, group, code, name, weekdays=range(7), hours=DEFAULT_HOURS,
                 call_weekdays=range(5), call_hours=DEFAULT_CALL_HOURS, **fields):
    """Open a store with its calendar: the store every day 08:30 to 18:00, holidays
    included (a 4S store; inspections follow it); the call centre and the CR office's
    clock Monday to Friday 08:30 to 17:30, closed on statutory holidays."""
    store = Store.objects.create(group=group, code=code, name=name, **fields)
    OpeningHours.objects.bulk_create(
        [OpeningHours(store=store, activity=Activity.STORE, weekday=day, opens=hours[0],
                      closes=hours[1], on_holidays=True) for day in weekdays]
        + [OpeningHours(store=store, activity=Activity.CALLS, weekday=day, opens=call_hours[0],
                        closes=call_hours[1], on_holidays=False) for day in call_weekdays])
    return store


# Staff ----------------------------------------------------------------------------------

def _check_staff_change(actor, user, stores, roles):
    """The one rule (roles.staff_change_refusal), then what the form must hold."""
    if not actor.has_perm("crm_site.manage_staff"):
        raise PermissionDenied(_("您没有管理员工的权限。"))
    allowed = set(stores_of(actor).values_list("pk", flat=True))
    refusal = staff_change_refusal(actor, user, roles=roles, managed=allowed)
    if refusal:
        raise PermissionDenied(refusal)
    if any(store.pk not in allowed for store in stores):  # the rule's, named on the field
        raise ValidationError({"stores": _("只能把员工分配到您所在的门店。")})
    if not stores:
        raise ValidationError({"stores": _("请至少选择一个门店。")})


def _set_roles(user, roles):
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValidationError({"roles": _("未知角色：%(roles)s") % {"roles": ", ".join(sorted(unknown))}})
    user.groups.set(Group.objects.filter(name__in=roles))


@transaction.atomic
def staff_create(*, actor, username, password, stores, roles, **fields):
    """A manager adds a member of staff to their own stores with roles not above their own."""
    _check_staff_change(actor, None, stores, roles)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("该用户名已被使用。")})
    user = User(username=username, **fields)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.stores.set(stores)
    _set_roles(user, roles)
    return user


@transaction.atomic
def staff_update(*, actor, user, stores, roles, **fields):
    """A manager changes a colleague's details (deactivates them), stores and roles: only
    a colleague of the manager's own stores alone, not above the manager, and never to
    raise their own roles (roles.staff_change_refusal)."""
    if not stores_of(actor).filter(pk__in=user.stores.values("pk")).exists() \
            and not actor.is_superuser:
        raise PermissionDenied(_("该员工不在您的门店。"))
    _check_staff_change(actor, user, stores, roles)
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save()
    user.stores.set(stores)
    _set_roles(user, roles)
    return user


# Outbox ---------------------------------------------------------------------------------

def message_queue(*, store, recipient, template_code, params=None, text="", purpose="",
                  not_before=None, expires_at=None, dedupe_key=None, subject=None):
    """Put one SMS in the outbox, to go out inside the store's daily send window.

    With a dedupe_key the same message is queued at most once; the existing row is
    returned when it is already there.
    """
    now = timezone.now()
    local = timezone.localtime(not_before or now, ZoneInfo(store.time_zone))
    start = rules.send_window_start(local, store.sms_window_start, store.sms_window_end)
    message = Message(
        store=store, recipient=recipient, template_code=template_code,
        sign_name=store.sms_sign_name or settings.SMS_SIGN_NAME or store.name,
        params=params or {}, text=text, purpose=purpose, not_before=start,
        expires_at=expires_at, dedupe_key=dedupe_key,
    )
    if subject is not None:
        message.content_type = ContentType.objects.get_for_model(subject)
        message.object_id = subject.pk
    if dedupe_key is None:
        message.save()
        return message
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return Message.objects.get(dedupe_key=dedupe_key)
    return message


def messages_expire(*, now):
    """Messages whose moment has passed are marked expired, never sent late."""
    return Message.objects.filter(status=Message.Status.READY, expires_at__lte=now).update(
        status=Message.Status.EXPIRED, failed_at=now, last_error=_("已过期，未发送")
    )


def _claim_due(now, batch):
    with transaction.atomic():
        ids = list(
            Message.objects.due(now).select_for_update(skip_locked=True)
            .order_by("id").values_list("id", flat=True)[:batch]
        )
        Message.objects.filter(id__in=ids).update(
            status=Message.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return ids


def messages_send_due(*, now=None, batch=200, max_batches=50):
    """Send what is due through the backend. Safe to run twice or in two processes:
    a message is claimed (SENDING) in its own transaction before it is sent."""
    now = now or timezone.now()
    messages_expire(now=now)
    backend = get_backend()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for _batch in range(max_batches):
        ids = _claim_due(now, batch)
        if not ids:
            break
        for message in Message.objects.filter(id__in=ids).order_by("id"):
            try:
                message.provider_id = backend.send(message)
            except SmsError as error:
                message.last_error = str(error)
                if message.attempts >= settings.SMS_MAX_ATTEMPTS:
                    message.status, message.failed_at = Message.Status.FAILED, now
                    counts["failed"] += 1
                else:
                    message.status = Message.Status.READY
                    message.next_attempt_at = now + rules.retry_delay(message.attempts)
                    counts["retry"] += 1
            else:
                message.status, message.sent_at = Message.Status.SENT, now
                counts["sent"] += 1
            message.save(update_fields=["status", "provider_id", "last_error", "sent_at",
                                        "failed_at", "next_attempt_at"])
    return counts


def messages_requeue_stuck(*, now=None, older_than=timedelta(minutes=10)):
    """A sender that died mid-send leaves SENDING rows; put them back in the queue."""
    now = now or timezone.now()
    return Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - older_than
    ).update(status=Message.Status.READY, next_attempt_at=now)


# Calendars ------------------------------------------------------------------------------

def stores_unplanned_report(*, skipped, day):
    """Tell the group admins of each store the planner left out for want of a usable
    calendar (once a day and store). `skipped`: [(store, reason)]."""
    from .selectors import group_admins

    for store, reason in skipped:
        logger.warning("store %s has no usable calendar (%s): not planned on %s",
                       store.code, reason, day)
        notification_send(
            users=list(group_admins(store.group_id and store.group)),
            title=_("%(store)s 没有可用的营业日历，今晚未生成提醒") % {"store": store.name},
            body=_("请为该门店设置营业时间（%(day)s）。") % {"day": day.isoformat()},
            url=f"/admin/crm_site/store/{store.pk}/change/",
            dedupe_key=f"calendar-unusable:{store.pk}:{day.isoformat()}")


CALENDAR_MISSING_KEY = "calendar-year-missing:{year}"


@transaction.atomic
def calendar_year_enter(*, actor, year, days, note=""):
    """The group admin enters `year`'s national calendar from the State Council notice:
    `days` is [(date, is_working, name)], the holidays (not working) and make-up
    workdays (working). The year's national days are replaced by these, each change with
    a history row carrying `note`; from then on the year's other days are ordinary days
    whatever the holiday library says."""
    if not actor.has_perm("crm_site.manage_calendar_year"):
        raise PermissionDenied(_("您没有录入法定节假日的权限。"))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError({"year": _("年份：请填写2000到2100之间的年份。")})
    seen = {}
    for day, is_working, name in days:
        if day.year != year:
            raise ValidationError({"days": _("日期 %(day)s 不在 %(year)s 年。") % {
                "day": day.isoformat(), "year": year}})
        if day in seen:
            raise ValidationError({"days": _("日期 %(day)s 填写了两次。") % {"day": day.isoformat()}})
        seen[day] = (bool(is_working), (name or "").strip()[:100])
    if not any(not is_working for is_working, _name in seen.values()):
        raise ValidationError({"days": _("请至少填写一天法定节假日。")})
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("修改说明：请写明依据（如国务院办公厅通知）。")})
    entry, _created = CalendarYear.objects.get_or_create(year=year)
    entry.note = note[:200]
    entry._change_reason = note
    entry.save()
    existing = {row.date: row for row in CalendarOverride.objects.select_for_update()
                .filter(store__isnull=True, date__year=year)}
    for day, row in existing.items():
        if day not in seen:
            row._change_reason = note
            row.delete()
    for day, (is_working, name) in sorted(seen.items()):
        row = existing.get(day) or CalendarOverride(date=day, store=None, activity="")
        if row.pk and (row.is_working, row.name) == (is_working, name):
            continue
        row.is_working, row.name = is_working, name
        row._change_reason = note
        row.save()
    cache.delete(CALENDAR_MISSING_KEY.format(year=year))
    return entry


def calendar_year_missing_notify(*, today):
    """From 1 October, tell the group admins every day while next year's national
    calendar is neither entered nor known to the holiday library. Returns whether it
    is missing."""
    from .selectors import calendar_year_missing, group_admins

    year = calendar_year_missing(today)
    if year is None:
        return False
    notification_send(
        users=list(group_admins()),
        title=_("%(year)s 年法定节假日尚未录入") % {"year": year},
        body=_("请按国务院办公厅通知录入 %(year)s 年的节假日和调休上班日。") % {"year": year},
        url=f"/settings/calendar-years/{year}/",
        dedupe_key=f"calendar-year-missing:{year}:{today.isoformat()}")
    return True


# Notifications --------------------------------------------------------------------------

def notification_send(*, users, title, body="", url="", dedupe_key=None):
    """Tell staff something in the app. With a dedupe_key each user is told once."""
    Notification.objects.bulk_create(
        [Notification(user=user, title=title, body=body, url=url, dedupe_key=dedupe_key)
         for user in users],
        ignore_conflicts=True,
    )


def notifications_mark_read(*, user, ids=None):
    qs = Notification.objects.filter(user=user).unread()
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


# Beat schedules -----------------------------------------------------------------------------

CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


@transaction.atomic
def schedule_update(*, actor, job, note, enabled, every=None, **cron):
    """The group administrator changes when a job runs (every N seconds, or a crontab in
    the site's time zone) or pauses it. Crontab rows are shared by jobs, so a changed
    time points the job at the row of that time rather than editing the row in place.
    Kept in the history with the note; beat picks the change up without a restart."""
    from celery.schedules import crontab as celery_crontab
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    from .history import change_note, save_with_note

    if not actor.has_perm("django_celery_beat.change_periodictask"):
        raise PermissionDenied(_("只有集团管理员可以修改定时任务。"))
    note = change_note(note)
    job = PeriodicTask.objects.select_for_update().get(pk=job.pk)
    job.enabled = bool(enabled)
    if job.interval_id:
        if not isinstance(every, int) or every < 10:
            raise ValidationError({"every": [_("间隔至少10秒。")]})
        job.interval, _created = IntervalSchedule.objects.get_or_create(
            every=every, period=IntervalSchedule.SECONDS)
    else:
        values = {name: (str(cron.get(name) or "").strip() or "*") for name in CRONTAB_FIELDS}
        errors = {}
        for name, value in values.items():
            try:
                celery_crontab(**{name: value})
            except (ValueError, TypeError):
                errors[name] = [_("格式不正确（crontab 写法，如 0、*/5、1-5）。")]
        if errors:
            raise ValidationError(errors)
        job.crontab, _created = CrontabSchedule.objects.get_or_create(
            **values, timezone=settings.TIME_ZONE)
    return save_with_note(job, actor=actor, note=note)
