"""Every write of the site-wide floor, named after what the business does."""

import hashlib
import hmac
import logging
import secrets
from datetime import time, timedelta
from time import monotonic, sleep
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import hooks, rules
from .models import (
    Activity,
    CalendarOverride,
    CalendarYear,
    Message,
    NoticeChannels,
    Notification,
    OpeningHours,
    PasswordResetCode,
    RobotPost,
    RobotWebhook,
    SmsReply,
    SmsTemplate,
    Store,
    User,
)
from .roles import Role, staff_change_refusal
from .scoping import stores_of
from .sms import SmsError, SmsOutcomeUnknown, get_backend

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
                  not_before=None, expires_at=None, dedupe_key=None, subject=None,
                  in_window=True):
    """Put one SMS in the outbox, to go out inside the store's daily send window (staff
    notices, in_window False: at not_before, whatever the hour).

    With a dedupe_key the same message is queued at most once; the existing row is
    returned when it is already there.
    """
    now = timezone.now()
    local = timezone.localtime(not_before or now, ZoneInfo(store.time_zone))
    start = (rules.send_window_start(local, store.sms_window_start, store.sms_window_end)
             if in_window else local)
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


def _recent_sends(ids, now):
    """{recipient: [sent_at, ...]} of the last day for the recipients of `ids`."""
    sent = {}
    rows = Message.objects.filter(
        recipient__in=Message.objects.filter(id__in=ids).values("recipient"),
        status=Message.Status.SENT, sent_at__gt=now - timedelta(days=1),
    ).values_list("recipient", "sent_at")
    for recipient, at in rows:
        sent.setdefault(recipient, []).append(at)
    return sent


def _send_one(backend, message, now, counts, sent):
    """Send one claimed message and record what came of it on its row."""
    wait = rules.recipient_wait(
        sent.get(message.recipient, []), now,
        interval=timedelta(seconds=settings.SMS_RECIPIENT_INTERVAL_SECONDS),
        hourly=settings.SMS_RECIPIENT_HOURLY_LIMIT, daily=settings.SMS_RECIPIENT_DAILY_LIMIT)
    if wait is not None:  # the provider's limit per number: wait, not an attempt
        message.status, message.next_attempt_at = Message.Status.READY, now + wait
        message.attempts -= 1
        counts["waiting"] += 1
        return
    try:
        message.provider_id = backend.send(message)
    except SmsOutcomeUnknown as error:
        message.last_error = str(error)
        message.status, message.failed_at = Message.Status.FAILED, now
        counts["failed"] += 1
    except SmsError as error:
        message.last_error = str(error)
        if not error.temporary or message.attempts >= settings.SMS_MAX_ATTEMPTS:
            message.status, message.failed_at = Message.Status.FAILED, now
            counts["failed"] += 1
        else:
            delay = max(rules.retry_delay(message.attempts),
                        error.retry_after or timedelta(0))
            message.status, message.next_attempt_at = Message.Status.READY, now + delay
            counts["retry"] += 1
    else:
        message.status, message.sent_at = Message.Status.SENT, now
        message.provider, message.last_error = getattr(backend, "name", ""), ""
        sent.setdefault(message.recipient, []).append(now)
        counts["sent"] += 1


def messages_send_due(*, now=None, batch=200, max_batches=50):
    """Send what is due through the backend. Safe to run twice or in two processes:
    a message is claimed (SENDING) in its own transaction before it is sent. A temporary
    error (provider down, throttled) is tried again with back-off up to
    SMS_MAX_ATTEMPTS; a permanent one, or an answer that never came, fails the message
    at once: it is never sent twice. The provider's limits per number and per second
    are kept."""
    now = now or timezone.now()
    messages_expire(now=now)
    backend = get_backend()
    counts = {"sent": 0, "retry": 0, "failed": 0, "waiting": 0}
    pace = 1 / settings.SMS_MAX_PER_SECOND if settings.SMS_MAX_PER_SECOND else 0
    last = 0.0
    for _batch in range(max_batches):
        ids = _claim_due(now, batch)
        if not ids:
            break
        sent = _recent_sends(ids, now)
        messages = list(Message.objects.filter(id__in=ids).select_related("store").order_by("id"))
        templates = SmsTemplate.objects.in_bulk({m.template_code for m in messages},
                                                field_name="code")
        for message in messages:
            message.template = templates.get(message.template_code)
            if pace:
                sleep(max(0.0, last + pace - monotonic()))
                last = monotonic()
            _send_one(backend, message, now, counts, sent)
            message.save(update_fields=["status", "provider_id", "provider", "last_error",
                                        "sent_at", "failed_at", "next_attempt_at", "attempts"])
    return counts


def message_receipts_record(*, provider, receipts):
    """Delivery receipts of sent messages: (provider id, delivered?, provider's reason,
    time). The provider may pass the same receipt on twice; the row simply says the
    same again. One UPDATE for the whole batch."""
    rows = list(receipts)
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {Message._meta.db_table} AS m
               SET delivery = r.delivery, delivered_at = r.at, delivery_error = r.reason
              FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[])
                   AS r(provider_id, delivery, at, reason)
             WHERE m.provider = %s AND m.status = %s AND m.provider_id = r.provider_id""", [  # noqa: S608
            [str(provider_id) for provider_id, _d, _r, _a in rows],
            [Message.Delivery.DELIVERED if delivered else Message.Delivery.UNDELIVERED
             for _p, delivered, _r, _a in rows],
            [at for _p, _d, _r, at in rows],
            [(reason or "")[:200] for _p, _d, reason, _a in rows],
            provider, Message.Status.SENT])
        return cursor.rowcount


def _bare_mobile(mobile):
    mobile = "".join(ch for ch in str(mobile) if ch.isdigit())
    return mobile[2:] if len(mobile) == 13 and mobile.startswith("86") else mobile


@transaction.atomic
def sms_reply_receive(*, provider, mobile, text, received_at, extend_code=""):
    """A customer's reply as the provider passed it on. Kept once however often it is
    passed on; a reply of 退订 / TD / T withdraws the customer's SMS consent (through
    the customers floor's consent service, by the "sms opt-out" hook) at once."""
    store = Store.objects.filter(sms_extend_code=extend_code).first() if extend_code else None
    reply = SmsReply(provider=provider, store=store, mobile=_bare_mobile(mobile),
                     text=text[:500], received_at=received_at, opt_out=rules.is_opt_out(text))
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:
        return None
    if reply.opt_out:
        changed = []
        hooks.sms_opt_out(reply, changed)
        reply.customers_changed = len(changed)
        reply.save(update_fields=["customers_changed"])
    return reply


def sms_replies_receive(*, provider, replies):
    """Each (mobile, text, time, extend code) through sms_reply_receive."""
    return [sms_reply_receive(provider=provider, mobile=mobile, text=text, received_at=at,
                              extend_code=extend) for mobile, text, at, extend in replies]


def messages_poll(*, now=None, batch=200):
    """Where the provider's callbacks are not configured (SMS_POLL): ask the provider
    for the receipts of the messages sent in the last three days that have none yet, and
    for the customers' replies."""
    now = now or timezone.now()
    backend = get_backend()
    if not settings.SMS_POLL or not hasattr(backend, "poll_receipts"):
        return {"receipts": 0, "replies": 0}
    waiting = list(Message.objects.filter(
        provider=backend.name, status=Message.Status.SENT, delivery="",
        sent_at__gt=now - timedelta(days=3)).order_by("id")[:batch])
    receipts = message_receipts_record(provider=backend.name,
                                       receipts=backend.poll_receipts(waiting))
    replies = sms_replies_receive(provider=backend.name, replies=backend.poll_replies())
    return {"receipts": receipts, "replies": len([r for r in replies if r])}


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

def notification_send(*, users, title, body="", url="", dedupe_key=None, alert=None,
                      store=None):
    """Tell staff something in the app (the bell). With a dedupe_key each user is told
    once. With an `alert` ("urgent" or "routine") and the store it is about, the notice
    also goes out at once through the channels each user chose (NoticeChannels): SMS to
    their mobile, and their store's 企业微信 / 钉钉 robot of their role (one post per
    robot however many of its group chose it), through the outboxes; a routine one waits
    out the user's quiet hours."""
    Notification.objects.bulk_create(
        [Notification(user=user, title=title, body=body, url=url, dedupe_key=dedupe_key)
         for user in users],
        ignore_conflicts=True,
    )
    if alert and dedupe_key and store is not None:
        _notice_route(users, title=title, body=body, url=url, dedupe_key=dedupe_key,
                      urgent=alert == "urgent", store=store)


def _short_key(*parts):
    key = ":".join(str(part) for part in parts)
    return key if len(key) <= 110 else "h:" + hashlib.sha256(key.encode()).hexdigest()


def _notice_route(users, *, title, body, url, dedupe_key, urgent, store):
    from .tasks import enqueue, robot_posts_send_due
    from .tasks import messages_send_due as send_messages

    if not isinstance(store, Store):
        store = Store.objects.get(pk=store)
    now = timezone.now()
    local_now = timezone.localtime(now, ZoneInfo(store.time_zone))
    people = (User.objects.filter(pk__in=[user.pk for user in users], is_active=True,
                                  notice_channels__isnull=False)
              .select_related("notice_channels").prefetch_related("groups"))
    webhooks = list(RobotWebhook.objects.filter(store=store, is_active=True))
    posts, messages = {}, 0
    for person in people:
        channels = person.notice_channels
        when = now if urgent else (rules.quiet_until(local_now, channels.quiet_start,
                                                     channels.quiet_end) or now)
        if channels.sms and person.mobile:
            message_queue(store=store, recipient=person.mobile, template_code="SMS_STAFF_NOTICE",
                          params={"title": title[:30]}, text=title, purpose="notice",
                          not_before=when, in_window=False,
                          dedupe_key=_short_key("notice", dedupe_key, person.pk))
            messages += 1
        chosen = {kind for kind in RobotWebhook.Kind.values if getattr(channels, kind)}
        for webhook in webhooks:
            if webhook.kind in chosen and webhook.role in person.role_codes:
                post = posts.get(webhook.pk)
                if post is None or when < post.not_before:
                    posts[webhook.pk] = RobotPost(
                        webhook=webhook, title=title[:200], body=body, url=url, not_before=when,
                        dedupe_key=_short_key("robot", webhook.pk, dedupe_key))
    if posts:
        RobotPost.objects.bulk_create(posts.values(), ignore_conflicts=True)
        enqueue(robot_posts_send_due)
    if messages:
        enqueue(send_messages)


def _robot_text(post):
    link = f"\n{settings.SITE_URL.rstrip('/')}{post.url}" if post.url and settings.SITE_URL else ""
    return f"{post.title}\n{post.body}{link}".strip()


def robot_posts_send_due(*, now=None, batch=100):
    """Post what is due to the group robots, each claimed before it is posted; temporary
    errors are retried with back-off up to SMS_MAX_ATTEMPTS, the rest fail at once."""
    from . import robots

    now = now or timezone.now()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with transaction.atomic():
        ids = list(RobotPost.objects.filter(status=Message.Status.READY, not_before__lte=now)
                   .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                   .select_for_update(skip_locked=True).order_by("id")
                   .values_list("id", flat=True)[:batch])
        RobotPost.objects.filter(id__in=ids).update(status=Message.Status.SENDING, claimed_at=now,
                                                    attempts=F("attempts") + 1)
    for post in RobotPost.objects.filter(id__in=ids).select_related("webhook").order_by("id"):
        try:
            robots.post(post.webhook, _robot_text(post))
        except SmsOutcomeUnknown as error:
            post.status, post.failed_at, post.last_error = Message.Status.FAILED, now, str(error)
            counts["failed"] += 1
        except SmsError as error:
            post.last_error = str(error)
            if error.temporary and post.attempts < settings.SMS_MAX_ATTEMPTS:
                post.status = Message.Status.READY
                post.next_attempt_at = now + rules.retry_delay(post.attempts)
                counts["retry"] += 1
            else:
                post.status, post.failed_at = Message.Status.FAILED, now
                counts["failed"] += 1
        else:
            post.status, post.sent_at, post.last_error = Message.Status.SENT, now, ""
            counts["sent"] += 1
        post.save(update_fields=["status", "sent_at", "failed_at", "last_error",
                                 "next_attempt_at"])
    return counts


@transaction.atomic
def notice_channels_set(*, user, sms, wecom, dingtalk, quiet_start=None, quiet_end=None):
    """A member of staff chooses how urgent notices reach them besides the bell."""
    if sms and not user.mobile:
        raise ValidationError({"sms": _("请先在员工资料中登记手机号码。")})
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationError({"quiet_end": _("免打扰时段须同时填写开始和结束时间。")})
    channels = NoticeChannels.objects.filter(user=user).first() or NoticeChannels(user=user)
    channels.sms, channels.wecom, channels.dingtalk = sms, wecom, dingtalk
    channels.quiet_start, channels.quiet_end = quiet_start, quiet_end
    channels._history_user = user
    channels.save()
    return channels


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


# Password reset --------------------------------------------------------------------------

def _code_hash(user, code):
    return hmac.new(settings.SECRET_KEY.encode(), f"{user.pk}:{code}".encode(),
                    hashlib.sha256).hexdigest()


@transaction.atomic
def password_reset_request(*, username, channel, ip_address=None):
    """Send a one-time code to the member of staff's registered mobile or e-mail. Says
    nothing of whether the user exists or has that contact (the page answers the same);
    at most PASSWORD_RESET_PER_HOUR codes an hour per user. Returns the row or None."""
    from django.core.mail import send_mail

    if channel not in PasswordResetCode.Channel.values:
        raise ValidationError({"channel": _("请选择接收验证码的方式。")})
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None:
        logger.info("password reset asked for an unknown user from %s", ip_address)
        return None
    contact = user.mobile if channel == PasswordResetCode.Channel.SMS else user.email
    now = timezone.now()
    recent = PasswordResetCode.objects.filter(user=user,
                                              created_at__gt=now - timedelta(hours=1)).count()
    if not contact or recent >= settings.PASSWORD_RESET_PER_HOUR:
        logger.warning("password reset for user %s refused (%s) from %s", user.pk,
                       "no contact" if not contact else "too many", ip_address)
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = settings.PASSWORD_RESET_CODE_MINUTES
    reset = PasswordResetCode.objects.create(
        user=user, channel=channel, code_hash=_code_hash(user, code), requested_from=ip_address,
        expires_at=now + timedelta(minutes=minutes))
    # Earlier codes of the user stop working: only the newest is good.
    PasswordResetCode.objects.filter(user=user, used_at__isnull=True).exclude(pk=reset.pk).update(
        expires_at=now)
    text = _("您的密码重置验证码为 %(code)s，%(minutes)s 分钟内有效。如非本人操作，请忽略。") % {
        "code": code, "minutes": minutes}
    if channel == PasswordResetCode.Channel.SMS:
        store = user.stores.order_by("pk").first()
        if store is None:
            return None
        message_queue(store=store, recipient=contact, template_code="SMS_PASSWORD_CODE",
                      params={"code": code, "minutes": str(minutes)}, purpose="password_reset",
                      expires_at=reset.expires_at, in_window=False)
        from .tasks import enqueue
        from .tasks import messages_send_due as send_messages

        enqueue(send_messages)
    else:
        transaction.on_commit(lambda: send_mail(_("密码重置验证码"), text, None, [contact]))
    logger.info("password reset code for user %s sent by %s from %s", user.pk, channel,
                ip_address)
    return reset


def password_reset_confirm(*, username, code, password):
    """Set a new password with the code sent: the newest unused code, before it expires,
    at most five tries (a wrong try is counted); the code is used up with the change."""
    refused = ValidationError({"code": _("验证码不正确或已过期，请重新获取。")})
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None:
        raise refused
    now = timezone.now()
    with transaction.atomic():
        reset = (PasswordResetCode.objects.select_for_update()
                 .filter(user=user, used_at__isnull=True, expires_at__gt=now, attempts__lt=5)
                 .order_by("-created_at").first())
        if reset is None:
            raise refused
        if hmac.compare_digest(reset.code_hash, _code_hash(user, code.strip())):
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise ValidationError({"password1": error.messages}) from error
            user.set_password(password)
            user.save(update_fields=["password"])
            reset.used_at = now
            reset.save(update_fields=["used_at"])
            logger.info("password reset done for user %s", user.pk)
            return user
        PasswordResetCode.objects.filter(pk=reset.pk).update(attempts=F("attempts") + 1)
    logger.warning("wrong password reset code for user %s", user.pk)
    raise refused
