"""Every write of the follow-ups floor, named after what the business does: recording a
call's outcome, booking and crediting appointments, closing cycles when a car comes in,
reassigning work, recall campaigns and care classes. The nightly planner lives in
planner.py; `reminders_plan` is re-exported here."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.roles import MANAGER_ROLES
from crm_site.scoping import stores_of
from crm_site.selectors import store_calendar

from . import planner, rules
from .models import (
    Appointment,
    CallAttempt,
    Campaign,
    CampaignMember,
    CareClass,
    Channel,
    ClassInvitation,
    FollowupSettings,
    Outcome,
    Programme,
    RefusalReason,
    SatisfactionAnswer,
    SatisfactionQuestion,
    Task,
)

logger = logging.getLogger(__name__)

reminders_plan = planner.reminders_plan
cycles_close_on_visit = planner.cycles_close_on_visit
appointments_credit = planner.appointments_credit
campaign_draw = planner.campaign_draw


def _is_manager(user):
    return user.is_superuser or bool(user.role_codes & set(MANAGER_ROLES))


def _check_store(actor, store_id):
    if actor.is_superuser:
        return
    if not stores_of(actor).filter(pk=store_id).exists():
        raise PermissionDenied(_("该记录不属于您的门店。"))


def _cycle(task):
    """The open tasks of the same cycle (programme, vehicle or customer, N)."""
    same = Task.objects.filter(programme_id=task.programme_id, due_on=task.due_on,
                               customer_id=task.customer_id)
    if task.vehicle_id:
        return same.filter(vehicle_id=task.vehicle_id)
    return same.filter(vehicle__isnull=True)


def _cancel_rest_of_cycle(task, reason, now):
    """Cancel the later only-until-came-in steps of the task's cycle."""
    return (_cycle(task).open().exclude(pk=task.pk)
            .filter(step__only_until_came_in=True, offset_days__gt=task.offset_days)
            .update(status=Task.Status.CANCELLED, cancel_reason=reason, closed_at=now))


DEPARTMENT_OF_PROGRAMME = {
    "post_delivery_followup": "sales",
    "care_class": "cr",
    "birthday": "cr",
}


def _open_complaint(task, actor, text):
    """Open a complaint through the complaints floor (channel: follow-up call) for the
    department the call was about; returns its id, or None when that floor offers no
    complaint_open (the problem then stays in the task's notes)."""
    try:
        from complaints.services import complaint_open
    except ImportError:
        return None
    try:
        complaint = complaint_open(
            actor=actor, customer=task.customer, vehicle=task.vehicle, channel="followup_call",
            description=text,
            department=DEPARTMENT_OF_PROGRAMME.get(task.programme_code, "service"))
    except ValidationError as error:
        raise ValidationError({"problem": [m for ms in error.message_dict.values() for m in ms]}) \
            from error
    return complaint.pk


@transaction.atomic
def task_record_outcome(*, task, actor, outcome, reason=None, notes="", appointment_on=None,
                        appointment_purpose="", answers=(), problem="", now=None):
    """Record one call of a task.

    - booked: an appointment for `appointment_on` is made (for a care class: the
      invitation is accepted) and the later steps of the cycle are cancelled;
    - refused: `reason` from the refusal list is required; later steps are cancelled;
    - unreachable: a retry on the next working day within the retry window, until the
      attempts are used up;
    - `answers`: [{"question": SatisfactionQuestion or id, "rating": 1-5, "reason": ""}]
      on satisfaction steps; a dissatisfied answer needs its reason;
    - `problem`: the customer raised a problem; a complaint is opened and linked.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not actor.has_perm("followups.record_outcome"):
        raise PermissionDenied(_("您没有登记回访结果的权限。"))
    task = (Task.objects.select_for_update(of=("self",))
            .select_related("step", "programme", "store", "customer", "vehicle", "care_class")
            .get(pk=task.pk))
    _check_store(actor, task.store_id)
    if task.assignee_id not in (None, actor.pk) and not _is_manager(actor):
        raise PermissionDenied(_("这不是您的任务。"))
    if isinstance(outcome, str):
        outcome = Outcome.objects.filter(code=outcome).first()
    errors = {}
    if task.channel != Channel.CALL:
        errors["task"] = [_("只有电话任务可以登记结果。")]
    elif not task.is_open:
        errors["task"] = [_("该任务已关闭。")]
    if outcome is None or not outcome.is_active:
        errors["outcome"] = [_("请选择回访结果。")]
    if errors:
        raise ValidationError(errors)
    kind = outcome.kind
    if isinstance(reason, str) and reason:
        reason = RefusalReason.objects.filter(code=reason).first() or \
            RefusalReason.objects.filter(pk=reason if reason.isdigit() else 0).first()
    if kind == Outcome.Kind.REFUSED and not reason:
        errors["reason"] = [_("请选择拒绝原因。")]
    is_class = task.care_class_id is not None
    if kind == Outcome.Kind.BOOKED and not is_class:
        if not appointment_on:
            errors["appointment_on"] = [_("请填写预约日期。")]
        elif appointment_on < today:
            errors["appointment_on"] = [_("预约日期不能早于今天。")]
    parsed_answers = _clean_answers(task, answers, kind, errors)
    if errors:
        raise ValidationError(errors)

    task.attempts += 1
    CallAttempt.objects.create(task=task, number=task.attempts, caller=actor, called_at=now,
                               outcome=outcome, notes=notes)
    task.outcome, task.outcome_kind = outcome, kind
    if notes:
        task.notes = f"{task.notes}\n{notes}".strip()
    if kind == Outcome.Kind.UNREACHABLE:
        cfg = FollowupSettings.current()
        retry = rules.retry_on(today, task.attempts, cfg.max_attempts, cfg.retry_within_days,
                               store_calendar(task.store))
        if retry:
            task.status, task.planned_on = Task.Status.RETRY, retry
            task.assignee_id = task.assignee_id or actor.pk
        else:
            task.status, task.done_at, task.done_by = Task.Status.DONE, now, actor
    else:
        task.status, task.done_at, task.done_by = Task.Status.DONE, now, actor
        task.reason = reason if kind == Outcome.Kind.REFUSED else None
    if kind == Outcome.Kind.BOOKED:
        if is_class:
            _class_reply(task, ClassInvitation.Reply.ACCEPTED, now)
        else:
            appointment_book(
                actor=actor, customer=task.customer, vehicle=task.vehicle,
                booked_for=appointment_on,
                purpose=appointment_purpose or task.programme.name, task=task, _checked=True)
        _cancel_rest_of_cycle(task, "booked", now)
    elif kind == Outcome.Kind.REFUSED:
        if is_class:
            _class_reply(task, ClassInvitation.Reply.DECLINED, now)
        _cancel_rest_of_cycle(task, "refused", now)
    for question, rating, answer_reason in parsed_answers:
        SatisfactionAnswer.objects.update_or_create(task=task, question=question, defaults={
            "store_id": task.store_id, "programme_code": task.programme_code,
            "department": question.department, "rating": rating, "reason": answer_reason,
            "answered_on": today, "caller": actor})
    if problem:
        complaint_id = _open_complaint(task, actor, problem)
        if complaint_id:
            task.complaint_id = complaint_id
        else:
            task.notes = f"{task.notes}\n{_('客户反映问题（待转投诉）：')}{problem}".strip()
    task.save()
    return task


def _clean_answers(task, answers, kind, errors):
    if not answers:
        return []
    if not task.step.asks_satisfaction:
        errors["answers"] = [_("该步骤不记录满意度。")]
        return []
    if kind == Outcome.Kind.UNREACHABLE:
        errors["answers"] = [_("未接通不能记录满意度。")]
        return []
    questions = {q.pk: q for q in SatisfactionQuestion.objects.filter(programme_id=task.programme_id)}
    parsed = []
    for answer in answers:
        question = answer.get("question")
        question = questions.get(getattr(question, "pk", question))
        rating = answer.get("rating")
        try:
            rating = int(rating)
        except (TypeError, ValueError):
            rating = None
        if question is None:
            errors["answers"] = [_("问题不属于该方案。")]
            continue
        if rating not in SatisfactionAnswer.Rating.values:
            errors["answers"] = [_("请为每个问题选择评价。")]
            continue
        text = (answer.get("reason") or "").strip()
        if rating <= SatisfactionAnswer.Rating.DISSATISFIED and not text:
            errors["answers"] = [_("不满意时请填写原因。")]
            continue
        parsed.append((question, rating, text))
    return parsed


@transaction.atomic
def appointment_book(*, actor, customer, booked_for, purpose, vehicle=None, task=None,
                     notes="", _checked=False):
    """Book a visit for a customer. Linked to the task's cycle when made on a call."""
    if not _checked:
        if not actor.has_perm("followups.add_appointment"):
            raise PermissionDenied(_("您没有登记预约的权限。"))
        _check_store(actor, customer.store_id)
        errors = {}
        if booked_for is None:
            errors["booked_for"] = [_("请填写预约日期。")]
        elif booked_for < timezone.localdate():
            errors["booked_for"] = [_("预约日期不能早于今天。")]
        if vehicle is not None and vehicle.customer_id != customer.pk:
            errors["vehicle"] = [_("车辆不属于该客户。")]
        if not (purpose or "").strip():
            errors["purpose"] = [_("请填写预约事项。")]
        if errors:
            raise ValidationError(errors)
    appointment = Appointment(
        store_id=customer.store_id, customer=customer, vehicle=vehicle, task=task,
        programme_id=task.programme_id if task else None, due_on=task.due_on if task else None,
        booked_for=booked_for, purpose=purpose, notes=notes, created_by=actor)
    appointment._history_user = actor
    appointment.save()
    if vehicle is not None:
        # A car that already came in within the window is credited at once.
        transaction.on_commit(lambda: planner.appointments_credit(vehicle_id=vehicle.pk))
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment, actor):
    _check_store(actor, appointment.store_id)
    if appointment.status != Appointment.Status.BOOKED:
        raise ValidationError({"status": _("只能取消未兑现的预约。")})
    appointment.status = Appointment.Status.CANCELLED
    appointment._history_user = actor
    appointment.save(update_fields=["status"])
    return appointment


def vehicle_came_in(*, vehicle_id, visit_day=None, now=None):
    """A service visit was recorded: the cycles it answers close, booked appointments
    within the credit window are credited, recall members are marked back."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = planner.cycles_close_on_visit(vehicle_id=vehicle_id, now=now)
        credited = planner.appointments_credit(vehicle_id=vehicle_id)
        if visit_day:
            CampaignMember.objects.filter(
                vehicle_id=vehicle_id, came_in_on__isnull=True,
                campaign__status__in=[Campaign.Status.DRAWN],
                campaign__date__gte=visit_day - timedelta(days=60),
            ).update(came_in_on=visit_day)
    return {"closed": closed, "credited": credited}


@transaction.atomic
def tasks_reassign(*, actor, task_ids, assignee=None):
    """A manager hands open calls to one caller, or (no assignee) spreads them evenly
    over the store's callers."""
    if not actor.has_perm("followups.reassign_task"):
        raise PermissionDenied(_("您没有分派任务的权限。"))
    tasks = Task.objects.open().calls().filter(pk__in=task_ids)
    if not actor.is_superuser:
        tasks = tasks.filter(store__in=stores_of(actor))
    ids = list(tasks.values_list("pk", flat=True))
    if not ids:
        raise ValidationError({"tasks": _("请选择要分派的未完成电话任务。")})
    if assignee is not None:
        store_ids = set(tasks.values_list("store_id", flat=True))
        allowed = planner.callers_of(list(store_ids))
        if any(assignee.pk not in allowed.get(store_id, []) for store_id in store_ids):
            raise ValidationError({"assignee": _("接收人必须是该门店的回访员或CR专员。")})
        return Task.objects.filter(pk__in=ids).update(assignee=assignee)
    Task.objects.filter(pk__in=ids).update(assignee=None)
    counts = {}
    for store_id in Task.objects.filter(pk__in=ids).values_list("store_id", flat=True):
        counts[store_id] = counts.get(store_id, 0) + 1
    return planner.tasks_assign_balanced(store_ids=list(counts), counts=counts, task_ids=ids)


# Recall campaigns ------------------------------------------------------------------------

@transaction.atomic
def campaign_create(*, actor, store, name, date, offer="", lapsed_days=None):
    """A manager plans a lapsed-customer recall campaign on `date`."""
    if not actor.has_perm("followups.add_campaign"):
        raise PermissionDenied(_("您没有创建召回活动的权限。"))
    _check_store(actor, store.pk)
    programme = Programme.objects.filter(anchor=Programme.Anchor.CAMPAIGN, is_active=True).first()
    errors = {}
    if programme is None:
        errors["programme"] = [_("没有启用的召回方案。")]
    if date is None or date <= timezone.localdate():
        errors["date"] = [_("活动日期应晚于今天。")]
    if not (name or "").strip():
        errors["name"] = [_("请填写活动名称。")]
    if errors:
        raise ValidationError(errors)
    campaign = Campaign(store=store, programme=programme, name=name.strip(), date=date,
                        offer=offer, created_by=actor,
                        lapsed_days=lapsed_days or FollowupSettings.current().lapsed_after_days)
    campaign._history_user = actor
    campaign.save()
    return campaign


# Care classes -----------------------------------------------------------------------------

@transaction.atomic
def care_class_create(*, actor, store, title, starts_at, capacity=20, location="",
                      description=""):
    if not actor.has_perm("followups.add_careclass"):
        raise PermissionDenied(_("您没有创建养护课堂的权限。"))
    _check_store(actor, store.pk)
    programme = Programme.objects.filter(anchor=Programme.Anchor.CARE_CLASS, is_active=True).first()
    errors = {}
    if programme is None:
        errors["programme"] = [_("没有启用的养护课堂方案。")]
    if starts_at is None or starts_at <= timezone.now():
        errors["starts_at"] = [_("开课时间应晚于现在。")]
    if not capacity or capacity < 1:
        errors["capacity"] = [_("名额至少为1。")]
    if errors:
        raise ValidationError(errors)
    care_class = CareClass(store=store, programme=programme, title=title, starts_at=starts_at,
                           capacity=capacity, location=location, description=description)
    care_class._history_user = actor
    care_class.save()
    return care_class


@transaction.atomic
def care_class_invite(*, actor, care_class, customers):
    """Put customers of the class's store on its invitation list (once each)."""
    _check_store(actor, care_class.store_id)
    wrong = [c for c in customers if c.store_id != care_class.store_id]
    if wrong:
        raise ValidationError({"customers": _("只能邀请本店客户。")})
    created = ClassInvitation.objects.bulk_create(
        [ClassInvitation(care_class=care_class, customer=c) for c in customers],
        ignore_conflicts=True)
    return len(created)


def _class_reply(task, reply, now):
    invitation = ClassInvitation.objects.select_for_update().filter(
        care_class_id=task.care_class_id, customer_id=task.customer_id).first()
    if invitation is not None:
        _set_reply(invitation, reply, now)


def _set_reply(invitation, reply, now):
    if reply == ClassInvitation.Reply.ACCEPTED and invitation.reply != reply:
        care_class = CareClass.objects.select_for_update().get(pk=invitation.care_class_id)
        taken = care_class.invitations.filter(reply=ClassInvitation.Reply.ACCEPTED).count()
        if taken >= care_class.capacity:
            raise ValidationError({"reply": _("课堂名额已满。")})
    invitation.reply, invitation.replied_at = reply, now
    invitation.save(update_fields=["reply", "replied_at"])


@transaction.atomic
def invitation_reply(*, actor, invitation, reply, now=None):
    """Record a customer's reply to a class invitation (capacity is enforced)."""
    _check_store(actor, invitation.care_class.store_id)
    if reply not in ClassInvitation.Reply.values:
        raise ValidationError({"reply": _("回复无效。")})
    invitation = ClassInvitation.objects.select_for_update().get(pk=invitation.pk)
    _set_reply(invitation, reply, now or timezone.now())
    return invitation


@transaction.atomic
def invitation_attendance(*, actor, invitation, attended):
    _check_store(actor, invitation.care_class.store_id)
    invitation.attended = bool(attended)
    invitation._history_user = actor
    invitation.save(update_fields=["attended"])
    return invitation
