"""Every write of the follow-ups floor, named after what the business does: recording a
call's outcome, booking and crediting appointments, closing cycles when a car comes in,
reassigning work, recall campaigns and care classes. The nightly planner lives in
planner.py; `reminders_plan` is re-exported here."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.services import complaint_open
from crm_site.models import Activity
from crm_site.roles import MANAGER_ROLES
from crm_site.scoping import check_store, stores_of
from crm_site.selectors import store_calendar
from customers.models import Customer, ServiceVisit, Vehicle
from customers.services import customer_create
from customers.validators import normalize_mobile

from . import hooks, planner, rules
from .models import (
    Appointment,
    CallAttempt,
    Campaign,
    CampaignMember,
    CancelReason,
    CareClass,
    Channel,
    ClassInvitation,
    ClubLevel,
    ClubMember,
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

logger = logging.getLogger(__name__)

reminders_plan = planner.reminders_plan
cycles_close_on_visit = planner.cycles_close_on_visit
appointments_credit = planner.appointments_credit
campaign_draw = planner.campaign_draw


def _is_manager(user):
    return user.is_superuser or bool(user.role_codes & set(MANAGER_ROLES))


def _cycle(task):
    """The open tasks of the same cycle (programme, vehicle or customer, N)."""
    same = Task.objects.filter(programme_id=task.programme_id, due_on=task.due_on,
                               customer_id=task.customer_id)
    if task.vehicle_id:
        return same.filter(vehicle_id=task.vehicle_id)
    return same.filter(vehicle__isnull=True)


def _close_cycle(task, reason, now):
    """Close the task's cycle at once: every other open task of an only-until-came-in
    step, earlier or later (a booking on N-7 closes the N-14 call still open), in one
    UPDATE through the ledger's cycle index."""
    return (_cycle(task).open().exclude(pk=task.pk)
            .filter(step__only_until_came_in=True)
            .update(status=Task.Status.CANCELLED, cancel_reason=reason, closed_at=now))


DEPARTMENT_OF_PROGRAMME = {
    "post_delivery_followup": "sales",
    "care_class": "cr",
    "birthday": "cr",
}


def _open_complaint(task, actor, text):
    """Open a complaint through the complaints floor (channel: follow-up call) for the
    department the call was about."""
    try:
        return complaint_open(
            actor=actor, customer=task.customer, vehicle=task.vehicle, channel="followup_call",
            description=text,
            department=DEPARTMENT_OF_PROGRAMME.get(task.programme_code, "service"))
    except ValidationError as error:
        raise ValidationError({"problem": [m for ms in error.message_dict.values() for m in ms]}) \
            from error


@transaction.atomic
def task_record_outcome(*, task, actor, outcome, reason=None, notes="", appointment_on=None,
                        appointment_purpose="", answers=(), problem="", now=None):
    """Record one call of a task.

    - booked: an appointment for `appointment_on` is made (for a care class: the
      invitation is accepted) and the cycle's other open tasks are cancelled at once;
    - refused: `reason` from the refusal list is required; the cycle's other open tasks
      are cancelled at once;
    - unreachable: a retry on the next working day within the retry window, until the
      attempts are used up;
    - `answers`: [{"question": SatisfactionQuestion or id, "rating": 1-5, "reason": ""}]
      on satisfaction steps; a dissatisfied answer needs its reason;
    - `problem`: the customer raised a problem; a complaint is opened and linked;
    - the floors above react to the answers through the "answers recorded" hooks.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not actor.has_perm("followups.record_outcome"):
        raise PermissionDenied(_("您没有登记回访结果的权限。"))
    task = (Task.objects.select_for_update(of=("self",))
            .select_related("step", "programme", "store", "customer", "vehicle", "care_class")
            .get(pk=task.pk))
    check_store(actor, task.store_id)
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
                               store_calendar(task.store, Activity.CALLS))
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
        _close_cycle(task, CancelReason.BOOKED, now)
    elif kind == Outcome.Kind.REFUSED:
        if is_class:
            _class_reply(task, ClassInvitation.Reply.DECLINED, now)
        _close_cycle(task, CancelReason.REFUSED, now)
    saved_answers = [
        SatisfactionAnswer.objects.update_or_create(task=task, question=question, defaults={
            "store_id": task.store_id, "programme_code": task.programme_code,
            "department": question.department, "rating": rating, "reason": answer_reason,
            "answered_on": today, "caller": actor})[0]
        for question, rating, answer_reason in parsed_answers]
    if problem:
        task.complaint = _open_complaint(task, actor, problem)
    task.save()
    if saved_answers:
        hooks.answers_recorded(task=task, answers=saved_answers)
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
        check_store(actor, customer.store_id)
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
    check_store(actor, appointment.store_id)
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
                campaign__date__gte=visit_day - timedelta(days=rules.RECALL_WINDOW_DAYS),
            ).update(came_in_on=visit_day)
    return {"closed": closed, "credited": credited}


def vehicles_came_in(*, store, visited_since, now=None):
    """Service visits of a store were imported in bulk (the DMS import): what
    vehicle_came_in does for one car, set-based for every car visited since that day."""
    now = now or timezone.now()
    with transaction.atomic():
        closed = planner.cycles_close_on_visit(visited_since=visited_since, now=now)
        credited = planner.appointments_credit()
        members = CampaignMember.objects.filter(
            vehicle__store=store, vehicle__last_visit_on__gte=visited_since,
            came_in_on__isnull=True, campaign__status__in=[Campaign.Status.DRAWN],
            campaign__date__gte=visited_since - timedelta(days=rules.RECALL_WINDOW_DAYS),
            campaign__date__lte=F("vehicle__last_visit_on") + timedelta(
                days=rules.RECALL_WINDOW_DAYS))
        members.update(came_in_on=Subquery(
            Vehicle.objects.filter(pk=OuterRef("vehicle_id")).values("last_visit_on")[:1]))
    return {"closed": closed, "credited": credited}


def insurance_renewed(*, policy, now=None):
    """A policy was recorded for a car (a renewal, here or elsewhere): the open tasks of
    its insurance cycles due before the new policy ends are cancelled at once ("renewed"),
    one UPDATE through the ledger's (vehicle, programme, due_on) index."""
    now = now or timezone.now()
    programmes = Programme.objects.filter(anchor=Programme.Anchor.INSURANCE).values("pk")
    return (Task.objects.open().filter(vehicle_id=policy.vehicle_id, programme__in=programmes,
                                       due_on__lt=policy.expires_on)
            .update(status=Task.Status.CANCELLED, cancel_reason=CancelReason.RENEWED,
                    closed_at=now))


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
    check_store(actor, store.pk)
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

CLUB_ACTIVITY_PROGRAMME = "club_activity"


def _event_programme(kind):
    """The programme whose steps invite and remind for an event of this kind: the club
    activity programme for club activities, the care-class programme otherwise."""
    programmes = Programme.objects.filter(anchor=Programme.Anchor.CARE_CLASS, is_active=True)
    if kind == CareClass.Kind.CARE_CLASS:
        return programmes.exclude(code=CLUB_ACTIVITY_PROGRAMME).first()
    return programmes.filter(code=CLUB_ACTIVITY_PROGRAMME).first()


@transaction.atomic
def care_class_create(*, actor, store, title, starts_at, capacity=20, location="",
                      description="", kind=CareClass.Kind.CARE_CLASS):
    """Plan an event: a care class, or (another `kind`) an owners' club activity; the
    nightly planner then invites and reminds through the event's programme."""
    if not actor.has_perm("followups.add_careclass"):
        raise PermissionDenied(_("您没有创建养护课堂的权限。"))
    check_store(actor, store.pk)
    errors = {}
    if kind not in CareClass.Kind.values:
        errors["kind"] = [_("活动类型无效。")]
        raise ValidationError(errors)
    programme = _event_programme(kind)
    if programme is None:
        errors["programme"] = [_("没有启用的养护课堂方案。") if kind == CareClass.Kind.CARE_CLASS
                               else _("没有启用的车友会活动方案。")]
    if not (title or "").strip():
        errors["title"] = [_("请填写主题。")]
    if starts_at is None or starts_at <= timezone.now():
        errors["starts_at"] = [_("开课时间应晚于现在。")]
    if not capacity or capacity < 1:
        errors["capacity"] = [_("名额至少为1。")]
    if errors:
        raise ValidationError(errors)
    care_class = CareClass(store=store, programme=programme, kind=kind, title=title.strip(),
                           starts_at=starts_at, capacity=capacity, location=location,
                           description=description)
    care_class._history_user = actor
    care_class.save()
    return care_class


@transaction.atomic
def care_class_invite(*, actor, care_class, customers):
    """Put customers of the class's store on its invitation list (once each)."""
    check_store(actor, care_class.store_id)
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
    check_store(actor, invitation.care_class.store_id)
    if reply not in ClassInvitation.Reply.values:
        raise ValidationError({"reply": _("回复无效。")})
    invitation = ClassInvitation.objects.select_for_update().get(pk=invitation.pk)
    _set_reply(invitation, reply, now or timezone.now())
    return invitation


@transaction.atomic
def invitation_attendance(*, actor, invitation, attended):
    check_store(actor, invitation.care_class.store_id)
    invitation.attended = bool(attended)
    invitation._history_user = actor
    invitation.save(update_fields=["attended"])
    return invitation


# The lounge (吧台) ---------------------------------------------------------------------------

PREFERENCE_LIMITS = {"drink": 50, "newspaper": 50, "interests": 200}
LOUNGE_PROSPECT_SOURCE = "吧台来访"


def _require(actor, permission, message):
    if not actor.has_perm(permission):
        raise PermissionDenied(message)


def _clean_preferences(values, errors):
    cleaned = {}
    for field, limit in PREFERENCE_LIMITS.items():
        value = (values.get(field) or "").strip()
        if len(value) > limit:
            errors[field] = [_("最多%(n)s个字。") % {"n": limit}]
        cleaned[field] = value
    return cleaned


def _save_preference(customer, actor, values):
    """Keep what was said; a field left empty keeps the customer's earlier answer."""
    preference = (LoungePreference.objects.select_for_update().filter(customer=customer).first()
                  or LoungePreference(customer=customer))
    for field, value in values.items():
        if value:
            setattr(preference, field, value)
    preference.updated_by = actor
    preference._history_user = actor
    preference.save()
    return preference


@transaction.atomic
def lounge_preference_record(*, actor, customer, drink="", newspaper="", interests="",
                             visit=None):
    """Record what a customer likes (drink, newspaper, interests) so that the next visit
    starts from it; on a visit, what they were offered this time too."""
    _require(actor, "followups.change_loungepreference", _("您没有登记客户偏好的权限。"))
    check_store(actor, customer.store_id)
    errors = {}
    values = _clean_preferences({"drink": drink, "newspaper": newspaper,
                                 "interests": interests}, errors)
    if not errors and not any(values.values()):
        errors["drink"] = [_("请至少填写一项偏好（饮品、报刊或兴趣）。")]
    if visit is not None and visit.customer_id != customer.pk:
        errors["visit"] = [_("来访记录不属于该客户。")]
    if errors:
        raise ValidationError(errors)
    preference = _save_preference(customer, actor, values)
    if visit is not None:
        for field, value in values.items():
            if value:
                setattr(visit, field, value)
        visit._history_user = actor
        visit.save(update_fields=list(PREFERENCE_LIMITS))
    return preference


@transaction.atomic
def lounge_visit_arrive(*, actor, store, purpose, customer=None, name="", mobile="",
                        served_by=None, drink="", newspaper="", interests="", notes="",
                        now=None):
    """A visitor sits down at the bar. A known customer is named; otherwise the visitor's
    name and mobile find the store's customer with that mobile, or open an A-card
    prospect for them. What they are offered starts from their stored preferences;
    anything said now is kept for the next visit."""
    _require(actor, "followups.add_loungevisit", _("您没有登记来访的权限。"))
    check_store(actor, store.pk)
    now = now or timezone.now()
    errors = {}
    if purpose not in LoungeVisit.Purpose.values:
        errors["purpose"] = [_("请选择来访事由。")]
    offered = _clean_preferences({"drink": drink, "newspaper": newspaper,
                                  "interests": interests}, errors)
    if customer is not None:
        if customer.store_id != store.pk or not customer.is_active:
            errors["customer"] = [_("客户不属于该门店。")]
    else:
        name = (name or "").strip()
        if not name:
            errors["name"] = [_("请填写来访者姓名，或查找已有客户。")]
        try:
            mobile = normalize_mobile(mobile)
        except ValidationError as error:
            errors["mobile"] = error.messages
        else:
            if not mobile:
                errors["mobile"] = [_("请填写来访者手机号。")]
    if served_by is not None and not served_by.is_superuser and \
            not served_by.stores.filter(pk=store.pk).exists():
        errors["served_by"] = [_("接待人必须是本店员工。")]
    if errors:
        raise ValidationError(errors)
    if customer is None:
        customer = (Customer.objects.filter(store=store, mobile=mobile, is_active=True,
                                            merged_into__isnull=True).order_by("id").first())
    if customer is None:
        customer = customer_create(store=store, name=name, mobile=mobile, card=Customer.Card.A,
                                   source=LOUNGE_PROSPECT_SOURCE, actor=actor,
                                   allow_duplicate=True)
    else:
        waiting = (LoungeVisit.objects.waiting().filter(customer=customer, store=store)
                   .order_by("-arrived_at").first())
        if waiting is not None:
            raise ValidationError({"customer": _("%(name)s已在休息区（%(time)s到店），请先登记离店。") % {
                "name": customer.name,
                "time": timezone.localtime(waiting.arrived_at).strftime("%H:%M")}})
    preference = LoungePreference.objects.filter(customer=customer).first()
    visit = LoungeVisit(store=store, customer=customer, purpose=purpose, arrived_at=now,
                        served_by=served_by or actor, notes=(notes or "").strip(),
                        created_by=actor, **{
                            field: offered[field] or (getattr(preference, field) if preference else "")
                            for field in PREFERENCE_LIMITS})
    visit._history_user = actor
    visit.save()
    if any(offered.values()):
        _save_preference(customer, actor, offered)
    return visit


@transaction.atomic
def lounge_visit_depart(*, actor, visit, now=None):
    """The visitor leaves the lounge."""
    _require(actor, "followups.change_loungevisit", _("您没有登记来访的权限。"))
    check_store(actor, visit.store_id)
    now = now or timezone.now()
    visit = LoungeVisit.objects.select_for_update().get(pk=visit.pk)
    if visit.departed_at is not None:
        raise ValidationError({"departed_at": _("该来访已登记离店。")})
    if now < visit.arrived_at:
        raise ValidationError({"departed_at": _("离店时间不能早于到店时间。")})
    visit.departed_at = now
    visit._history_user = actor
    visit.save(update_fields=["departed_at"])
    return visit


# The owners' club (车友会) ---------------------------------------------------------------------

@transaction.atomic
def club_member_join(*, actor, customer, source, level=None, joined_on=None, notes=""):
    """A car owner joins the owners' club (or rejoins: the row of their earlier
    membership is reopened, its history kept)."""
    _require(actor, "followups.add_clubmember", _("您没有登记车友会会员的权限。"))
    check_store(actor, customer.store_id)
    today = timezone.localdate()
    joined_on = joined_on or today
    errors = {}
    if source not in ClubMember.Source.values:
        errors["source"] = [_("请选择入会来源。")]
    if joined_on > today:
        errors["joined_on"] = [_("入会日期不能晚于今天。")]
    if not customer.is_active:
        errors["customer"] = [_("该客户档案已停用。")]
    elif customer.card != Customer.Card.C:
        errors["customer"] = [_("车友会只接纳车主（C卡客户）。")]
    if level is None:
        level = ClubLevel.objects.filter(is_active=True).order_by("order", "code").first()
        if level is None:
            errors["level"] = [_("没有启用的会员等级。")]
    elif not level.is_active:
        errors["level"] = [_("该会员等级已停用。")]
    member = ClubMember.objects.select_for_update().filter(customer=customer).first()
    if member is not None and member.left_on is None:
        errors["customer"] = [_("该客户已是车友会会员（%(day)s入会）。") % {
            "day": member.joined_on.isoformat()}]
    if errors:
        raise ValidationError(errors)
    member = member or ClubMember(customer=customer, store_id=customer.store_id)
    member.level, member.source, member.joined_on = level, source, joined_on
    member.left_on, member.left_reason = None, ""
    member.notes = (notes or "").strip()
    member.created_by = member.created_by or actor
    member._history_user = actor
    member.save()
    return member


@transaction.atomic
def club_member_leave(*, actor, member, reason, left_on=None):
    """A member leaves the club; the membership row is kept with the day and reason."""
    _require(actor, "followups.change_clubmember", _("您没有修改车友会会员的权限。"))
    check_store(actor, member.store_id)
    left_on = left_on or timezone.localdate()
    member = ClubMember.objects.select_for_update().get(pk=member.pk)
    errors = {}
    if member.left_on is not None:
        errors["left_on"] = [_("该会员已退会。")]
    elif left_on < member.joined_on:
        errors["left_on"] = [_("退会日期不能早于入会日期。")]
    elif left_on > timezone.localdate():
        errors["left_on"] = [_("退会日期不能晚于今天。")]
    if not (reason or "").strip():
        errors["reason"] = [_("请填写退会原因。")]
    if errors:
        raise ValidationError(errors)
    member.left_on, member.left_reason = left_on, reason.strip()
    member._history_user = actor
    member.save(update_fields=["left_on", "left_reason"])
    return member


@transaction.atomic
def club_activity_sign_up(*, actor, activity, customer, now=None):
    """A customer signs up for an event (an accepted invitation; capacity enforced),
    invited before or not."""
    _require(actor, "followups.change_classinvitation", _("您没有登记报名的权限。"))
    check_store(actor, activity.store_id)
    now = now or timezone.now()
    errors = {}
    if customer.store_id != activity.store_id:
        errors["customer"] = [_("只能为本店客户报名。")]
    if activity.is_cancelled:
        errors["activity"] = [_("活动已取消。")]
    elif activity.starts_at <= now:
        errors["activity"] = [_("活动已开始，不能再报名。")]
    if errors:
        raise ValidationError(errors)
    invitation, _created = ClassInvitation.objects.get_or_create(care_class=activity,
                                                                 customer=customer)
    invitation = ClassInvitation.objects.select_for_update().get(pk=invitation.pk)
    _set_reply(invitation, ClassInvitation.Reply.ACCEPTED, now)
    return invitation


@transaction.atomic
def invitation_feedback(*, actor, invitation, rating, text=""):
    """An attendee's feedback on an event: a rating of 1 to 5 and their words."""
    _require(actor, "followups.change_classinvitation", _("您没有登记活动反馈的权限。"))
    check_store(actor, invitation.care_class.store_id)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = None
    errors = {}
    if invitation.attended is not True:
        errors["attended"] = [_("只有出席的客户才能评价活动。")]
    if rating not in range(1, 6):
        errors["rating"] = [_("评价应为1至5分。")]
    if errors:
        raise ValidationError(errors)
    invitation.feedback_rating, invitation.feedback = rating, (text or "").strip()
    invitation._history_user = actor
    invitation.save(update_fields=["feedback_rating", "feedback"])
    return invitation


# Programmes and steps (managers) -----------------------------------------------------------

def _check_manager_perm(actor, permission):
    if not actor.has_perm(permission):
        raise PermissionDenied(_("您没有修改提醒方案的权限。"))


def _save_with_history(instance, actor):
    instance._history_user = actor
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def programme_create(*, actor, code, name, anchor, description="", closes_on_visit=False,
                     assign_to_owner=True, order=0):
    """A manager adds a reminder programme; its steps follow with step_add. A new
    programme starts inactive only when the manager says so (is_active defaults on)."""
    _check_manager_perm(actor, "followups.add_programme")
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not code:
        errors["code"] = [_("请填写代码。")]
    elif Programme.objects.filter(code=code).exists():
        errors["code"] = [_("代码已被其他方案使用。")]
    if not name:
        errors["name"] = [_("请填写名称。")]
    if anchor not in Programme.Anchor.values:
        errors["anchor"] = [_("请选择日期N。")]
    if errors:
        raise ValidationError(errors)
    return _save_with_history(Programme(
        code=code, name=name, anchor=anchor, description=description,
        closes_on_visit=closes_on_visit, assign_to_owner=assign_to_owner, order=order), actor)


STEP_FIELDS = ("order", "offset_days", "offset_minutes", "due_within_days", "window_end_days",
               "channel", "purpose",
               "sms_template_code", "sms_text", "script", "only_until_came_in",
               "asks_satisfaction")


def _step_errors(programme, code, fields, step=None):
    """The checks every step passes, added or edited: a unique code within the programme,
    a template code on an SMS step, an offset within a year and a bit of date N."""
    errors = {}
    if not code:
        errors["code"] = [_("请填写代码。")]
    elif Step.objects.filter(programme=programme, code=code).exclude(pk=getattr(step, "pk", None)).exists():
        errors["code"] = [_("该方案已有此代码的步骤。")]
    if fields.get("channel") == Channel.SMS and not (fields.get("sms_template_code") or "").strip():
        errors["sms_template_code"] = [_("短信步骤须填写短信模板代码。")]
    if fields.get("offset_days") is None:
        errors["offset_days"] = [_("请填写距N天数。")]
    elif not -400 <= fields["offset_days"] <= 400:
        errors["offset_days"] = [_("距N天数应在 -400 到 400 之间。")]
    end = fields.get("window_end_days")
    if end is not None and fields.get("offset_days") is not None and end < fields["offset_days"]:
        errors["window_end_days"] = [_("有效期不能早于步骤本身的日期（距N天数）。")]
    elif end is not None and not -400 <= end <= 400:
        errors["window_end_days"] = [_("有效期应在 N-400 到 N+400 之间。")]
    return errors


def _unknown_fields(fields, allowed):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")


@transaction.atomic
def step_add(*, actor, programme, code, **fields):
    """Add a step to a programme. An SMS step needs its template code; the code is
    unique within the programme. The next night's plan includes it."""
    _check_manager_perm(actor, "followups.add_step")
    code = (code or "").strip()
    _unknown_fields(fields, STEP_FIELDS)
    errors = _step_errors(programme, code, fields)
    if errors:
        raise ValidationError(errors)
    try:
        return _save_with_history(Step(programme=programme, code=code, **fields), actor)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error


@transaction.atomic
def step_update(*, actor, step, **fields):
    """Edit a step (its code stays): the same checks as step_add, kept in its history.
    The next night plans the days it covers in full again."""
    _check_manager_perm(actor, "followups.change_step")
    _unknown_fields(fields, (*STEP_FIELDS, "is_active"))
    step = Step.objects.select_for_update().get(pk=step.pk)
    errors = _step_errors(step.programme, step.code, {**_fields_of(step, STEP_FIELDS), **fields}, step)
    if errors:
        raise ValidationError(errors)
    for name, value in fields.items():
        setattr(step, name, value)
    try:
        return _save_with_history(step, actor)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error


def _fields_of(instance, names):
    return {name: getattr(instance, name) for name in names}


PROGRAMME_FIELDS = ("name", "description", "closes_on_visit", "closing_kinds", "assign_to_owner",
                    "is_active", "order")
QUESTION_FIELDS = ("code", "text", "department", "order", "is_active")


@transaction.atomic
def programme_update(*, actor, programme, questions=(), **fields):
    """Edit a programme (its code and date N stay) and its satisfaction questions:
    `questions` is a list of dicts of QUESTION_FIELDS, with "id" for an existing question
    of this programme and without it for a new one. Every change is in the history."""
    _check_manager_perm(actor, "followups.change_programme")
    _unknown_fields(fields, PROGRAMME_FIELDS)
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    if "name" in fields and not (fields["name"] or "").strip():
        raise ValidationError({"name": [_("请填写名称。")]})
    if set(fields.get("closing_kinds") or ()) - set(ServiceVisit.RepairType.values):
        raise ValidationError({"closing_kinds": [_("进厂类型无效。")]})
    for name, value in fields.items():
        setattr(programme, name, value)
    try:
        _save_with_history(programme, actor)
        existing = {q.pk: q for q in programme.questions.all()}
        for data in questions:
            data = dict(data)
            question = existing.get(data.pop("id", None)) or SatisfactionQuestion(programme=programme)
            _unknown_fields(data, QUESTION_FIELDS)
            for name, value in data.items():
                setattr(question, name, value)
            _save_with_history(question, actor)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error
    return programme


SETTINGS_FIELDS = ("catch_up_days", "call_lookahead_days", "retry_within_days", "max_attempts",
                   "lapsed_after_days", "appointment_credit_days", "sms_valid_days")


@transaction.atomic
def followup_settings_update(*, actor, **fields):
    """Change the engine's tunable numbers (one row), kept in its history."""
    _check_manager_perm(actor, "followups.change_followupsettings")
    _unknown_fields(fields, SETTINGS_FIELDS)
    row = FollowupSettings.objects.select_for_update().get(pk=FollowupSettings.current().pk)
    for name, value in fields.items():
        setattr(row, name, value)
    try:
        return _save_with_history(row, actor)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error


@transaction.atomic
def step_remove(*, actor, step):
    """Take a step out of its programme: deleted while no task refers to it, otherwise
    deactivated (its tasks and their history stay). Returns "deleted" or "deactivated"."""
    _check_manager_perm(actor, "followups.change_step")
    step = Step.objects.select_for_update().get(pk=step.pk)
    step._history_user = actor
    if Task.objects.filter(step=step).exists():
        if step.is_active:
            step.is_active = False
            step.save(update_fields=["is_active"])
        return "deactivated"
    step.delete()
    return "deleted"


# Work that a change after planning forbids -------------------------------------------------
#
# Calls are written days ahead and wait on worklists; SMS wait in the outbox for their
# send window. When the customer or the car changes after planning, the work the change
# forbids is cancelled at once, inside the transaction of the change (through the hooks
# of customers.hooks), one UPDATE per kind: the worklist then reads straight off its
# index and never needs to look at the customer's consent.

def _open_cancel(tasks, reason, now):
    """Cancel the open ones of `tasks` with `reason` (a CancelReason)."""
    return tasks.open().update(status=Task.Status.CANCELLED, cancel_reason=reason,
                               closed_at=now)


def _unsent_messages_expire(tasks, reason, now):
    """The outbox messages of `tasks` still waiting to go out (ready, or waiting for a
    retry) expire with `reason` as their error: never sent. One already handed to the
    sender is left to it."""
    from django.contrib.contenttypes.models import ContentType

    from crm_site.models import Message

    return Message.objects.filter(
        content_type=ContentType.objects.get_for_model(Task), object_id__in=tasks.values("pk"),
        status=Message.Status.READY).update(status=Message.Status.EXPIRED, failed_at=now,
                                            last_error=reason)


def _refused_work_cancel(tasks, channels, now):
    counts = {}
    if Channel.CALL in channels:
        counts["calls_cancelled"] = _open_cancel(tasks.calls(), CancelReason.NO_CALL_CONSENT, now)
    if Channel.SMS in channels:
        counts["messages_expired"] = _unsent_messages_expire(
            tasks.filter(channel=Channel.SMS), _("客户已拒绝接收短信，未发送"), now)
    return counts


def customer_consent_withdrawn(*, customer, channels, now=None):
    """The customer no longer accepts calls or SMS (`channels`; customers "consent
    changed" hook): their open calls are cancelled (no_call_consent) and their SMS not
    yet sent expire. Returns {what: rows}."""
    return _refused_work_cancel(Task.objects.filter(customer=customer), set(channels),
                                now or timezone.now())


def vehicle_work_cancel(*, vehicle, retired, now=None):
    """The car left its owner (customers "vehicle ownership ended" hook): retired (sold
    elsewhere or scrapped), every open task about it is cancelled (vehicle_retired);
    sold on to another customer, the open tasks of its earlier owners are
    (owner_changed). Their SMS not yet sent expire. Returns {what: rows}."""
    now = now or timezone.now()
    tasks = Task.objects.filter(vehicle=vehicle)
    if retired:
        reason, error = CancelReason.VEHICLE_RETIRED, _("车辆已停用（转卖或报废），未发送")
    else:
        tasks = tasks.exclude(customer_id=vehicle.customer_id)
        reason, error = CancelReason.OWNER_CHANGED, _("车辆已过户，未发送")
    return {"cancelled": _open_cancel(tasks, reason, now),
            "messages_expired": _unsent_messages_expire(tasks.filter(channel=Channel.SMS),
                                                        error, now)}


def customer_merge_tasks(*, kept, merged, now=None):
    """A duplicate record is merged into the kept one (customers "customer merged" hook).
    Its tasks move to the kept record, except those of a cycle the kept record has too
    (tasks about the customer rather than a car, a birthday greeting or an event
    invitation both records were planned): they stay with the duplicate, the open ones
    cancelled as duplicates (merged) and their SMS not yet sent expired, so the customer
    is called and greeted once and no task is lost. The work that moved then follows the
    kept record's consent. Returns {"followups.task.customer": moved ids} for the
    merge's undo."""
    from django.db.models import Exists, OuterRef

    now = now or timezone.now()
    tasks = Task.objects.filter(customer=merged)
    twin = Task.objects.filter(customer=kept, vehicle__isnull=True, step_id=OuterRef("step_id"),
                               due_on=OuterRef("due_on"))
    duplicate_ids = list(tasks.filter(vehicle__isnull=True).filter(Exists(twin))
                         .values_list("pk", flat=True))
    if duplicate_ids:
        duplicates = Task.objects.filter(pk__in=duplicate_ids)
        _open_cancel(duplicates, CancelReason.MERGED, now)
        _unsent_messages_expire(duplicates.filter(channel=Channel.SMS),
                                _("与合并后保留客户的短信重复，未发送"), now)
    moved_ids = list(tasks.exclude(pk__in=duplicate_ids).values_list("pk", flat=True))
    if moved_ids:
        moved = Task.objects.filter(pk__in=moved_ids)
        moved.update(customer=kept)
        refused = {channel for channel, allowed in ((Channel.CALL, kept.call_allowed),
                                                    (Channel.SMS, kept.sms_allowed))
                   if not allowed}
        if refused:
            _refused_work_cancel(moved, refused, now)
    return {f"{Task._meta.label_lower}.customer": moved_ids}


# Erasure at the customer's request ---------------------------------------------------------

def customer_scrub(*, customer):
    """Scrub what this floor holds about a customer whose personal data is erased
    (customers.services.customer_erase, through the "customer erased" hook): their
    open calls are cancelled (erased: nobody left to dial), the notes of their calls
    and appointments, the reasons given in their survey answers, their
    lounge visits and preferences, club membership notes and event feedback (with the
    history rows of each), and their SMS in the outbox (recipient, text and parameters;
    one not yet sent is expired). Every row, status, date, score and foreign key stays,
    so the funnel, the satisfaction figures and the club counts do not move. Set-based;
    returns {what: rows scrubbed}."""
    from django.contrib.contenttypes.models import ContentType

    from crm_site.models import Message
    from customers import hooks as customer_hooks

    erased_text, replaced = customer_hooks.erased_text, customer_hooks.replaced
    tasks = Task.objects.filter(customer=customer)
    appointments = Appointment.objects.filter(customer=customer)
    visits = LoungeVisit.objects.filter(customer=customer)
    preferences = LoungePreference.objects.filter(customer=customer)
    members = ClubMember.objects.filter(customer=customer)
    invitations = ClassInvitation.objects.filter(customer=customer)
    lounge = erased_text("drink", "newspaper", "interests")
    messages = Message.objects.filter(content_type=ContentType.objects.get_for_model(Task),
                                      object_id__in=tasks.values("pk"))
    return {
        "tasks_cancelled": _open_cancel(tasks, CancelReason.ERASED, timezone.now()),
        "tasks": tasks.update(**erased_text("notes")),
        "call_attempts": CallAttempt.objects.filter(task__in=tasks).update(**erased_text("notes")),
        "survey_answers": SatisfactionAnswer.objects.filter(task__in=tasks).update(
            **erased_text("reason")),
        "messages_expired": messages.filter(status=Message.Status.READY).update(
            status=Message.Status.EXPIRED, failed_at=timezone.now(),
            last_error=_("客户个人信息已删除，未发送")),
        "messages": messages.update(recipient="", params={}, **erased_text("text"),
                                    last_error=replaced("last_error", (customer.mobile, ""),
                                                        max_length=None)),
        "appointments": appointments.update(**erased_text("notes")),
        "appointment_history": Appointment.history.filter(
            id__in=appointments.values("pk")).update(**erased_text("notes")),
        "lounge_visits": visits.update(**lounge, **erased_text("notes")),
        "lounge_visit_history": LoungeVisit.history.filter(id__in=visits.values("pk")).update(
            **lounge, **erased_text("notes")),
        "lounge_preferences": preferences.update(**lounge),
        "lounge_preference_history": LoungePreference.history.filter(
            customer_id=customer.pk).update(**lounge),
        "club_members": members.update(**erased_text("left_reason", "notes")),
        "club_member_history": ClubMember.history.filter(id__in=members.values("pk")).update(
            **erased_text("left_reason", "notes")),
        "invitations": invitations.update(**erased_text("feedback")),
        "invitation_history": ClassInvitation.history.filter(
            id__in=invitations.values("pk")).update(**erased_text("feedback")),
        "followups_admin_log": customer_hooks.admin_log_scrub(preferences,
                                                              customer_hooks.ERASED_TEXT),
    }


# The night that did not finish ---------------------------------------------------------------

@transaction.atomic
def planner_night_check(*, day=None):
    """Morning check of the nightly planner: when no run for `day` (default today)
    finished, the CR managers and general managers of every active store are told at
    once through their chosen channels (once per day)."""
    from crm_site.models import Store, User
    from crm_site.services import notification_send

    day = day or timezone.localdate()
    if PlannerRun.objects.filter(day=day, finished_at__isnull=False).exists():
        return 0
    stores = list(Store.objects.filter(is_active=True).order_by("pk"))
    managers = {}
    for user in (User.objects.filter(is_active=True, groups__name__in=MANAGER_ROLES,
                                     stores__in=stores)
                 .distinct().prefetch_related("stores")):
        for store in user.stores.all():
            managers.setdefault(store.pk, []).append(user)
    for store in stores:
        notification_send(
            users=managers.get(store.pk, []),
            title=_("夜间计划未完成：%(day)s") % {"day": day},
            body=_("今天的回访任务和短信可能没有生成，请检查计划任务。"),
            dedupe_key=f"followups:planner:{day}:unfinished", alert="urgent", store=store)
    return len(stores)
