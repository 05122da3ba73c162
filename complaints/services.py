"""Every write of the complaints app, named after what the business does. Each is atomic,
locks the complaint it changes, validates first (bad input raises
ValidationError({field: message}) and saves nothing) and writes its timeline event.

The clock counts whole seconds: every instant a service stores is truncated to the
second, so "responded at 29:59" and "at 30:01" are judged exactly.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_site.history import change_note, save_with_note
from crm_site.models import Activity, User
from crm_site.roles import MANAGER_ROLES, Role
from crm_site.scoping import check_store, works_for
from crm_site.selectors import store_calendar
from crm_site.services import notification_send

from . import rules
from .models import (
    SLA_POLICY_FIELDS,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    Severity,
    SlaPolicy,
)
from .validators import validate_attachment

Kind = ComplaintEvent.Kind
Clock = ComplaintEvent.Clock
Status = Complaint.Status

# Who answers for a department's complaints.
DEPARTMENT_ROLES = {
    Complaint.Department.SALES: Role.SALES_MANAGER,
    Complaint.Department.SERVICE: Role.SERVICE_MANAGER,
    Complaint.Department.PARTS: Role.SERVICE_MANAGER,
    Complaint.Department.CR: Role.CR_MANAGER,
    Complaint.Department.ADMIN: Role.GENERAL_MANAGER,
    Complaint.Department.OTHER: Role.CR_MANAGER,
}
CONTACT_CHANNELS = {
    "phone": gettext_lazy("电话"), "visit": gettext_lazy("面谈"), "sms": gettext_lazy("短信"),
    "wechat": gettext_lazy("微信"),
}
CONTACT_CHANNEL_CHOICES = list(CONTACT_CHANNELS.items())


# Helpers --------------------------------------------------------------------------------

def now_seconds():
    return timezone.now().replace(microsecond=0)


def _second(moment):
    return moment.replace(microsecond=0)


def _raise(errors):
    if errors:
        raise ValidationError(errors)


def policy_for(severity, store=None) -> SlaPolicy:
    """The policy of a severity in `store`: the store's own row where it has one, else
    the group's row (the DOMAIN.md default if even that was deleted). One query."""
    store_id = getattr(store, "pk", store)
    return (SlaPolicy.objects.filter(Q(store__isnull=True) | Q(store_id=store_id),
                                     severity=severity)
            .order_by(F("store_id").asc(nulls_last=True)).first()
            or SlaPolicy(severity=severity))


@transaction.atomic
def sla_policy_set(*, actor, store, severity, note, **fields):
    """A manager sets the SLA policy of a severity for a store (`store` None: the group's
    default, which only a group administrator changes). The store's first change copies
    the group's row and overrides it from then on; complaints opened afterwards run on
    it. Kept in the history with the manager's note."""
    if not actor.has_perm("complaints.change_slapolicy"):
        raise PermissionDenied(_("您没有修改投诉时限规则的权限。"))
    unknown = set(fields) - set(SLA_POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: [_("不能修改该项。")] for name in sorted(unknown)})
    if severity not in Severity.values:
        raise ValidationError({"severity": [_("未知的投诉级别。")]})
    if store is None:
        if not actor.is_superuser:
            raise PermissionDenied(_("集团默认规则只能由集团管理员修改。"))
    else:
        check_store(actor, store, "store")
    note = change_note(note)
    policy = (SlaPolicy.objects.select_for_update()
              .filter(store=store, severity=severity).first())
    if policy is None:
        base = policy_for(severity)
        policy = SlaPolicy(store=store, severity=severity,
                           **{name: getattr(base, name) for name in SLA_POLICY_FIELDS})
    for name, value in fields.items():
        setattr(policy, name, value)
    return save_with_note(policy, actor=actor, note=note)


def timekeeper_for(store, policy: SlaPolicy) -> rules.Timekeeper:
    if not policy.working_hours_only:
        return rules.Timekeeper()
    return rules.Timekeeper(store_calendar(store, Activity.CALLS), ZoneInfo(store.time_zone))


def _lock(complaint):
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _event(complaint, kind, *, actor, at, clock="", note="", data=None, round=None):
    return ComplaintEvent.objects.create(
        complaint=complaint, kind=kind, clock=clock, at=at, actor=actor, note=note,
        data=data or {}, round=complaint.round if round is None else round,
    )


def _save(complaint, actor, fields):
    """Save the changed fields and the board's sort key (the deadline that runs now)."""
    if actor is not None:
        complaint._history_user = actor
    complaint.current_due_at = complaint.current_due()
    complaint.save(update_fields=[*fields, "current_due_at"])


def complaint_url(complaint_id):
    return reverse("complaints:detail", args=[complaint_id])


def role_users(store_id, *roles):
    return list(User.objects.filter(is_active=True, stores=store_id, groups__name__in=roles)
                .distinct().order_by("id"))


def _check_action(complaint, action):
    if not rules.can(complaint.status, action, paused=complaint.is_paused):
        raise ValidationError({"status": _("投诉当前状态为“%(status)s”，不能执行此操作。")
                               % {"status": complaint.get_status_display()}})


def _moment(value, complaint, field, errors, now):
    """A business instant given by the user: not in the future, not before receipt."""
    if value is None:
        return now
    value = _second(value)
    if value > now:
        errors[field] = _("时间不能晚于当前时间。")
    elif value < complaint.received_at:
        errors[field] = _("时间不能早于投诉时间。")
    return value


def _required(errors, field, value, message):
    if not str(value or "").strip():
        errors[field] = message
    return str(value or "").strip()


# Opening -----------------------------------------------------------------------------------

@transaction.atomic
def complaint_open(*, actor, customer, channel, description, category=Complaint.Category.OTHER,
                   received_at=None, vehicle=None, severity=Severity.GENERAL,
                   important_reasons="", department="", owner=None):
    """Log a complaint. The response and resolution clocks start at `received_at` (when
    the customer raised it; may be earlier than now, never later). A complaint from the
    same customer or vehicle within the repeat window is flagged as a repeat. An
    important complaint is escalated to the CR manager and general manager at once."""
    now = now_seconds()
    errors = {}
    store = customer.store
    if not works_for(actor, store):
        errors["customer"] = _("该客户不属于您所在的门店。")
    elif not customer.is_active:
        errors["customer"] = _("该客户档案已停用或已合并，请选择有效的客户。")
    if vehicle is not None and (vehicle.customer_id != customer.pk
                                or vehicle.store_id != customer.store_id):
        errors["vehicle"] = _("该车辆不属于所选客户。")
    if channel not in Complaint.Channel.values:
        errors["channel"] = _("请选择投诉渠道。")
    description = _required(errors, "description", description, _("请填写投诉内容。"))
    if department and department not in Complaint.Department.values:
        errors["department"] = _("未知的责任部门。")
    received_at = _second(received_at or now)
    if received_at > now:
        errors["received_at"] = _("投诉时间不能晚于当前时间。")
    reasons = _check_classification(severity, important_reasons, category, errors)
    owner = owner or actor
    if not owner.is_superuser and not owner.stores.filter(pk=store.pk).exists():
        errors["owner"] = _("跟进人不在该门店。")
    _raise(errors)

    policy = policy_for(severity, store)
    rule = policy.as_rules()
    keeper = timekeeper_for(store, policy)
    response = rules.response_window(received_at, rule, keeper)
    resolution = rules.resolution_window(received_at, rule, keeper)

    repeat_filter = Q(customer=customer)
    if vehicle is not None:
        repeat_filter |= Q(vehicle=vehicle)
    earlier = (Complaint.objects.filter(repeat_filter, store=store,
                                        received_at__gte=rules.repeat_window_start(
                                            received_at, rule.repeat_window),
                                        received_at__lte=received_at)
               .order_by("-received_at", "-id").first())

    complaint = Complaint(
        store=store, customer=customer, vehicle=vehicle, channel=channel, category=category,
        description=description, severity=severity, important_reasons=reasons,
        department=department, owner=owner, logged_by=actor, received_at=received_at,
        response_warn_at=response.warn_at, response_due_at=response.due_at,
        resolution_warn_at=resolution.warn_at, resolution_due_at=resolution.due_at,
        is_repeat=earlier is not None, repeat_of=earlier, current_due_at=response.due_at,
    )
    complaint._history_user = actor
    complaint.save()
    data = {}
    if earlier is not None:
        same_vehicle = vehicle is not None and earlier.vehicle_id == vehicle.pk
        suggested = rules.suggested_reasons(repeat_same_vehicle=same_vehicle, category=category)
        data = {"repeat_of": earlier.pk, "suggested_reasons": sorted(suggested - set(reasons))}
    _event(complaint, Kind.OPENED, actor=actor, at=received_at, data=data,
           note=complaint.get_channel_display())
    if severity == Severity.IMPORTANT:
        _escalate(complaint, actor=actor, at=now)
    elif owner != actor:
        notification_send(users=[owner], title=_("新投诉由您跟进：%(customer)s") % {
            "customer": customer.name}, url=complaint_url(complaint.pk),
            dedupe_key=f"complaint:{complaint.pk}:owner")
    return complaint


def _escalate(complaint, *, actor, at):
    managers = role_users(complaint.store_id, Role.CR_MANAGER, Role.GENERAL_MANAGER)
    notification_send(
        users=managers,
        title=_("重要投诉：%(customer)s（原因 %(reasons)s）") % {
            "customer": complaint.customer.name, "reasons": complaint.important_reasons},
        body=complaint.description[:200], url=complaint_url(complaint.pk),
        dedupe_key=f"complaint:{complaint.pk}:important", alert="urgent",
        store=complaint.store_id,
    )
    _event(complaint, Kind.ESCALATED, actor=actor, at=at,
           data={"notified": [user.pk for user in managers]},
           note=_("重要投诉已通知CR主管和总经理"))


def _check_classification(severity, important_reasons, category, errors):
    try:
        reasons = rules.parse_reasons(important_reasons)
    except rules.ReasonError as error:
        errors["important_reasons"] = _("未知的重要投诉原因：%(letters)s（只能是A至H）。") % {
            "letters": ", ".join(error.unknown)}
        return ""
    if severity not in Severity.values:
        errors["severity"] = _("未知的投诉级别。")
    elif severity == Severity.IMPORTANT and not reasons:
        errors["important_reasons"] = _("重要投诉请至少选择一个原因（A至H）。")
    elif severity == Severity.GENERAL and reasons:
        errors["important_reasons"] = _("一般投诉不填写重要投诉原因；如有原因请将级别设为重要投诉。")
    if category not in Complaint.Category.values:
        errors["category"] = _("请选择投诉类别。")
    return reasons


def _replayed_resolution(complaint, rule, keeper):
    """The resolution window under `rule`, moved by every pause taken so far."""
    window = rules.resolution_window(complaint.received_at, rule, keeper)
    resumes = complaint.events.filter(kind=Kind.RESUMED).order_by("at", "id")
    for event in resumes:
        paused_at = datetime.fromisoformat(event.data["paused_at"])
        if paused_at <= window.due_at:
            window = rules.resume_shift(window, paused_at=paused_at, resumed_at=event.at,
                                        keeper=keeper)
    return window


@transaction.atomic
def complaint_classify(*, actor, complaint, severity, important_reasons, category, note=""):
    """Change the class of a complaint. A new severity brings its policy: the stored
    deadlines are computed again from receipt (pauses taken so far still count);
    warnings and breaches already recorded stay recorded. Raising it to important tells
    the CR manager and general manager at once. Lowering an important complaint to
    general is for the CR manager and general manager only, needs a reason, and tells
    them both."""
    complaint = _lock(complaint)
    now = now_seconds()
    if complaint.status == Status.CLOSED:
        raise ValidationError({"status": _("投诉已结案，不能修改分类。")})
    downgraded = complaint.severity == Severity.IMPORTANT and severity == Severity.GENERAL
    if downgraded and not actor.has_role(*MANAGER_ROLES):
        raise PermissionDenied(_("只有CR主管或总经理可以把重要投诉降为一般投诉。"))
    errors = {}
    reasons = _check_classification(severity, important_reasons, category, errors)
    if downgraded and not (note or "").strip():
        errors["note"] = _("把重要投诉降为一般投诉时请说明原因。")
    _raise(errors)
    before = {"severity": complaint.severity, "important_reasons": complaint.important_reasons,
              "category": complaint.category}
    became_important = severity == Severity.IMPORTANT and complaint.severity != severity
    complaint.severity, complaint.important_reasons, complaint.category = \
        severity, reasons, category
    fields = ["severity", "important_reasons", "category"]
    if before["severity"] != severity:
        policy = policy_for(severity, complaint.store_id)
        rule, keeper = policy.as_rules(), timekeeper_for(complaint.store, policy)
        response = rules.response_window(complaint.received_at, rule, keeper)
        resolution = _replayed_resolution(complaint, rule, keeper)
        complaint.response_warn_at, complaint.response_due_at = response.warn_at, response.due_at
        complaint.resolution_warn_at = resolution.warn_at
        complaint.resolution_due_at = resolution.due_at
        fields += ["response_warn_at", "response_due_at", "resolution_warn_at",
                   "resolution_due_at"]
        if complaint.handed_off_at and complaint.department_feedback_at is None:
            department = rules.department_window(complaint.handed_off_at, rule, keeper)
            complaint.department_warn_at = department.warn_at
            complaint.department_due_at = department.due_at
            fields += ["department_warn_at", "department_due_at"]
    _save(complaint, actor, fields)
    event = _event(complaint, Kind.CLASSIFIED, actor=actor, at=now, note=note,
                   data={"before": before, "downgraded": downgraded,
                         "after": {"severity": severity, "important_reasons": reasons,
                                   "category": category}})
    if became_important:
        _escalate(complaint, actor=actor, at=now)
    if downgraded:
        notification_send(
            users=role_users(complaint.store_id, Role.CR_MANAGER, Role.GENERAL_MANAGER),
            title=_("重要投诉被降为一般投诉：%(customer)s（%(actor)s）") % {
                "customer": complaint.customer.name, "actor": actor},
            body=note[:200], url=complaint_url(complaint.pk),
            dedupe_key=f"complaint:{complaint.pk}:downgraded:{event.pk}")
    return complaint


# The first contact ---------------------------------------------------------------------------

@transaction.atomic
def complaint_respond(*, actor, complaint, channel, note, contacted_at=None):
    """Log the first real contact with the customer (a call, a visit or a message): it
    stops the response clock. `contacted_at` defaults to now; it may be earlier (logged
    after the call) but not before the complaint was received nor in the future."""
    complaint = _lock(complaint)
    now = now_seconds()
    _check_action(complaint, "respond")
    errors = {}
    if channel not in CONTACT_CHANNELS:
        errors["channel"] = _("请选择联系方式。")
    note = _required(errors, "note", note, _("请记录与客户沟通的内容。"))
    contacted_at = _moment(contacted_at, complaint, "contacted_at", errors, now)
    _raise(errors)
    complaint.responded_at = contacted_at
    complaint.status = Status.RESPONDED
    _save(complaint, actor, ["responded_at", "status"])
    _event(complaint, Kind.RESPONDED, actor=actor, at=contacted_at, clock=Clock.RESPONSE,
           note=note, data={"channel": channel})
    return complaint


# Department round ----------------------------------------------------------------------------

def _department_manager(complaint, department, manager, errors):
    if manager is not None:
        if not manager.is_active or not manager.stores.filter(pk=complaint.store_id).exists():
            errors["department_manager"] = _("部门负责人不在该门店。")
        return manager
    candidates = role_users(complaint.store_id, DEPARTMENT_ROLES.get(department, Role.CR_MANAGER))
    if not candidates:
        errors["department_manager"] = _("该门店没有此部门的负责人，请指定。")
        return None
    return candidates[0]


def _start_department_round(complaint, *, department, manager, at):
    policy = policy_for(complaint.severity, complaint.store_id)
    window = rules.department_window(at, policy.as_rules(),
                                     timekeeper_for(complaint.store, policy))
    complaint.department = department
    complaint.department_manager = manager
    complaint.handed_off_at = at
    complaint.department_warn_at = window.warn_at
    complaint.department_due_at = window.due_at
    complaint.department_feedback_at = None
    complaint.department_warned_at = None
    complaint.department_breached_at = None
    complaint.status = Status.HANDED_OFF


DEPARTMENT_FIELDS = ["department", "department_manager", "handed_off_at", "department_warn_at",
                     "department_due_at", "department_feedback_at", "department_warned_at",
                     "department_breached_at", "status"]


def _tell_department(complaint, *, title):
    notification_send(users=[complaint.department_manager], title=title,
                      body=complaint.description[:200], url=complaint_url(complaint.pk),
                      dedupe_key=f"complaint:{complaint.pk}:handoff:{complaint.round}")


@transaction.atomic
def complaint_hand_off(*, actor, complaint, department, department_manager=None, note=""):
    """Issue the complaint form to the responsible department's manager, who reports
    back within the policy's days (3 by default)."""
    complaint = _lock(complaint)
    now = now_seconds()
    _check_action(complaint, "hand_off")
    errors = {}
    if department not in Complaint.Department.values:
        errors["department"] = _("请选择责任部门。")
    manager = _department_manager(complaint, department, department_manager, errors)
    _raise(errors)
    _start_department_round(complaint, department=department, manager=manager, at=now)
    _save(complaint, actor, DEPARTMENT_FIELDS)
    _event(complaint, Kind.HANDED_OFF, actor=actor, at=now, clock=Clock.DEPARTMENT, note=note,
           data={"department": department, "manager": manager.pk,
                 "due_at": complaint.department_due_at.isoformat()})
    _tell_department(complaint, title=_("投诉处理单：%(customer)s，请在%(due)s前反馈") % {
        "customer": complaint.customer.name,
        "due": timezone.localtime(complaint.department_due_at).strftime("%m-%d %H:%M")})
    return complaint


@transaction.atomic
def complaint_record_department_feedback(*, actor, complaint, feedback, root_cause="",
                                         corrective_action=""):
    """The department reports how it handled the complaint (stops the department clock)."""
    complaint = _lock(complaint)
    now = now_seconds()
    _check_action(complaint, "department_feedback")
    errors = {}
    feedback = _required(errors, "feedback", feedback, _("请填写部门处理情况。"))
    _raise(errors)
    complaint.department_feedback = feedback
    complaint.root_cause = str(root_cause or "").strip() or complaint.root_cause
    complaint.corrective_action = str(corrective_action or "").strip() or \
        complaint.corrective_action
    complaint.department_feedback_at = now
    complaint.status = Status.FEEDBACK
    _save(complaint, actor, ["department_feedback", "root_cause", "corrective_action",
                             "department_feedback_at", "status"])
    _event(complaint, Kind.DEPARTMENT_FEEDBACK, actor=actor, at=now, clock=Clock.DEPARTMENT,
           note=feedback)
    notification_send(users=[complaint.owner], title=_("部门已反馈投诉处理：%(customer)s") % {
        "customer": complaint.customer.name}, url=complaint_url(complaint.pk),
        dedupe_key=f"complaint:{complaint.pk}:feedback:{complaint.round}")
    return complaint


# Resolution and verification ---------------------------------------------------------------

@transaction.atomic
def complaint_resolve(*, actor, complaint, resolution, root_cause="", corrective_action=""):
    """Record the resolution. The first resolution stops the resolution clock; a paused
    clock is resumed at the same moment."""
    complaint = _lock(complaint)
    now = now_seconds()
    errors = {}
    if complaint.responded_at is None:
        errors["responded_at"] = _("尚未与客户联系：请先登记首次响应，再登记解决。")
        _raise(errors)
    if complaint.status == Status.HANDED_OFF:
        raise ValidationError({"department_feedback": _("责任部门尚未反馈，不能登记解决。")})
    _check_action(complaint, "resolve")
    resolution = _required(errors, "resolution", resolution, _("请填写解决方案。"))
    _raise(errors)
    if complaint.is_paused:
        _resume(complaint, actor=actor, now=now, note=_("登记解决时自动恢复"))
    complaint.resolution = resolution
    complaint.root_cause = str(root_cause or "").strip() or complaint.root_cause
    complaint.corrective_action = str(corrective_action or "").strip() or \
        complaint.corrective_action
    first = complaint.resolved_at is None
    complaint.resolved_at = complaint.resolved_at or now
    complaint.status = Status.RESOLVED
    _save(complaint, actor, ["resolution", "root_cause", "corrective_action", "resolved_at",
                             "status", "paused_at", "pause_reason", "paused_seconds",
                             "resolution_warn_at", "resolution_due_at"])
    _event(complaint, Kind.RESOLVED, actor=actor, at=now,
           clock=Clock.RESOLUTION if first else Clock.NONE, note=resolution)
    return complaint


@transaction.atomic
def complaint_record_callback(*, actor, complaint, satisfied, note):
    """CR calls the customer back. Satisfied: the complaint is closed. Not satisfied: it
    is reissued to the department in a new round with a new deadline."""
    complaint = _lock(complaint)
    now = now_seconds()
    _check_action(complaint, "callback")
    errors = {}
    if satisfied not in (True, False):
        errors["satisfied"] = _("请选择客户是否满意。")
    note = _required(errors, "note", note, _("请记录回访内容。"))
    _raise(errors)
    complaint.callback_at = now
    if satisfied:
        complaint.status = Status.CLOSED
        complaint.closed_at = now
        _save(complaint, actor, ["callback_at", "status", "closed_at"])
        _event(complaint, Kind.CALLBACK_SATISFIED, actor=actor, at=now, note=note)
        return complaint
    _save(complaint, actor, ["callback_at"])
    _event(complaint, Kind.CALLBACK_UNSATISFIED, actor=actor, at=now, note=note)
    return _reissue(complaint, actor=actor, now=now, note=note)


@transaction.atomic
def complaint_reissue(*, actor, complaint, note, department=None, department_manager=None):
    """Issue the complaint form again (a new round, a new department deadline): the
    department's handling or the resolution did not satisfy."""
    complaint = _lock(complaint)
    now = now_seconds()
    _check_action(complaint, "reissue")
    errors = {}
    note = _required(errors, "note", note, _("请说明重新派单的原因。"))
    if department and department not in Complaint.Department.values:
        errors["department"] = _("未知的责任部门。")
    _raise(errors)
    return _reissue(complaint, actor=actor, now=now, note=note, department=department,
                    department_manager=department_manager)


def _reissue(complaint, *, actor, now, note, department=None, department_manager=None):
    errors = {}
    department = department or complaint.department or Complaint.Department.SERVICE
    if department_manager is None and department == complaint.department:
        department_manager = complaint.department_manager
    manager = _department_manager(complaint, department, department_manager, errors)
    _raise(errors)
    complaint.round += 1
    _start_department_round(complaint, department=department, manager=manager, at=now)
    _save(complaint, actor, [*DEPARTMENT_FIELDS, "round"])
    _event(complaint, Kind.REISSUED, actor=actor, at=now, clock=Clock.DEPARTMENT, note=note,
           data={"department": department, "manager": manager.pk,
                 "due_at": complaint.department_due_at.isoformat()})
    _tell_department(complaint, title=_("投诉重新派单（第%(round)s轮）：%(customer)s") % {
        "round": complaint.round, "customer": complaint.customer.name})
    return complaint


# Pause --------------------------------------------------------------------------------------

@transaction.atomic
def complaint_pause(*, actor, complaint, reason):
    """Pause the resolution clock while waiting on the customer or the manufacturer. The
    response clock never pauses; a clock that has run out cannot pause."""
    complaint = _lock(complaint)
    now = now_seconds()
    errors = {}
    if complaint.resolved_at is not None:
        raise ValidationError({"resolved_at": _("投诉已解决，解决时限不再计时。")})
    if complaint.is_paused:
        raise ValidationError({"paused_at": _("解决计时已处于暂停状态。")})
    _check_action(complaint, "pause")
    reason = _required(errors, "reason", reason, _("请填写暂停原因（例如等待客户或厂家）。"))
    _raise(errors)
    try:
        rules.check_pause(paused_at=now, due_at=complaint.resolution_due_at)
    except rules.PauseError as error:
        raise ValidationError({"paused_at": _("解决时限已过，不能暂停计时。")}) from error
    complaint.paused_at = now
    complaint.pause_reason = reason
    _save(complaint, actor, ["paused_at", "pause_reason"])
    _event(complaint, Kind.PAUSED, actor=actor, at=now, clock=Clock.RESOLUTION, note=reason)
    return complaint


@transaction.atomic
def complaint_resume(*, actor, complaint, note=""):
    """Resume the resolution clock: its deadline moves by exactly the paused time."""
    complaint = _lock(complaint)
    now = now_seconds()
    if not complaint.is_paused:
        raise ValidationError({"paused_at": _("解决计时没有暂停。")})
    _resume(complaint, actor=actor, now=now, note=note)
    _save(complaint, actor, ["paused_at", "pause_reason", "paused_seconds",
                             "resolution_warn_at", "resolution_due_at"])
    return complaint


def _resume(complaint, *, actor, now, note=""):
    policy = policy_for(complaint.severity, complaint.store_id)
    before = complaint.resolution_window
    after = rules.resume_shift(before, paused_at=complaint.paused_at, resumed_at=now,
                               keeper=timekeeper_for(complaint.store, policy))
    paused = int((now - complaint.paused_at).total_seconds())
    complaint.resolution_warn_at, complaint.resolution_due_at = after.warn_at, after.due_at
    complaint.paused_seconds += paused
    _event(complaint, Kind.RESUMED, actor=actor, at=now, clock=Clock.RESOLUTION, note=note,
           data={"paused_seconds": paused, "paused_at": complaint.paused_at.isoformat(),
                 "reason": complaint.pause_reason,
                 "due_before": before.due_at.isoformat(), "due_after": after.due_at.isoformat()})
    complaint.paused_at = None
    complaint.pause_reason = ""


# Attachments ---------------------------------------------------------------------------------

@transaction.atomic
def complaint_attach(*, actor, complaint, upload):
    """Attach a photo or document, checked by its content."""
    content_type, extension = validate_attachment(upload)
    original = (upload.name or "file").rsplit("/", 1)[-1][:200]
    stem = original.rsplit(".", 1)[0][:80] or "file"
    attachment = ComplaintAttachment(complaint=complaint, original_name=original,
                                     content_type=content_type, size=upload.size,
                                     uploaded_by=actor)
    attachment.file.save(f"{stem}.{extension}", upload, save=False)
    attachment.save()
    _event(complaint, Kind.ATTACHMENT, actor=actor, at=now_seconds(), note=original,
           data={"attachment": attachment.pk, "content_type": content_type})
    return attachment


# The SLA sweep -------------------------------------------------------------------------------

def _due_rows(clock, mark, now):
    """The flag a mark sets and the filter of rows whose mark is due at `now` (the SQL
    form of rules.warning_due / rules.breach_due)."""
    flag = f"{clock}_{'warned' if mark == 'warning' else 'breached'}_at"
    warn, due = f"{clock}_warn_at", f"{clock}_due_at"
    query = Q(**{f"{flag}__isnull": True}) & ~Q(status=Status.CLOSED)
    query &= {
        "response": Q(responded_at__isnull=True),
        "resolution": Q(resolved_at__isnull=True),
        "department": Q(department_feedback_at__isnull=True, handed_off_at__isnull=False),
    }[clock]
    if mark == "warning":
        # Due and not yet past the deadline (then the breach says it all). A paused
        # clock warns only for a warning reached before it paused.
        query &= Q(**{f"{warn}__lte": now})
        running = Q(**{f"{due}__gte": now})
        if clock == "resolution":
            running = (Q(paused_at__isnull=True) & running) | \
                Q(paused_at__isnull=False, resolution_warn_at__lte=F("paused_at"))
        query &= running
    else:
        query &= Q(**{f"{due}__lt": now})
        if clock == "resolution":
            query &= Q(paused_at__isnull=True)
    return flag, query


MARKS = [(clock, mark) for clock in ("response", "resolution", "department")
         for mark in ("breach", "warning")]


def _recipients(row, clock, mark, managers):
    """Who is told of a mark: the owner of a warning (the department manager of a
    department warning); the CR manager of a breach, and the general manager as well
    for a breached resolution; important complaints tell both managers every time."""
    store_managers = managers.get(row["store_id"], {})
    users = {row["owner_id"]}
    if clock == "department" and row["department_manager_id"]:
        users.add(row["department_manager_id"])
    if mark == "breach":
        users |= store_managers.get(Role.CR_MANAGER, set())
        if clock == "resolution":
            users |= store_managers.get(Role.GENERAL_MANAGER, set())
    if row["severity"] == Severity.IMPORTANT:
        users |= store_managers.get(Role.CR_MANAGER, set())
        users |= store_managers.get(Role.GENERAL_MANAGER, set())
    return sorted(users)


def _managers_of(store_ids):
    managers = {}
    rows = (User.objects.filter(is_active=True, stores__in=store_ids,
                                groups__name__in=[Role.CR_MANAGER, Role.GENERAL_MANAGER])
            .values_list("id", "stores", "groups__name"))
    for user_id, store_id, role in rows:
        if store_id in store_ids:
            managers.setdefault(store_id, {}).setdefault(role, set()).add(user_id)
    return managers


CLOCK_LABELS = {"response": gettext_lazy("响应"), "resolution": gettext_lazy("解决"),
                "department": gettext_lazy("部门反馈")}


def _mark_title(row, clock, mark):
    values = {"clock": CLOCK_LABELS[clock], "customer": row["customer__name"], "id": row["id"]}
    if mark == "warning":
        return _("投诉#%(id)s %(customer)s：%(clock)s时限即将到期") % values
    return _("投诉#%(id)s %(customer)s：%(clock)s已超时") % values


def _sweep_batch(clock, mark, now, batch):
    """Claim one batch of due rows (skipping rows another sweep holds), set their flag,
    write their events and notifications, all in one transaction."""
    flag, query = _due_rows(clock, mark, now)
    with transaction.atomic():
        # Earliest first, in the order of the partial index the filter matches, so the
        # scan stops at `batch` rows or at `now` however many rows the table holds.
        moment = f"{clock}_warn_at" if mark == "warning" else f"{clock}_due_at"
        ids = list(Complaint.objects.filter(query).select_for_update(skip_locked=True)
                   .order_by(moment, "id").values_list("id", flat=True)[:batch])
        if not ids:
            return 0
        Complaint.objects.filter(id__in=ids).update(**{flag: now})
        rows = list(Complaint.objects.filter(id__in=ids).order_by("id").values(
            "id", "store_id", "owner_id", "department_manager_id", "severity", "round",
            "customer__name", f"{clock}_due_at"))
        kind = Kind.WARNING if mark == "warning" else Kind.BREACH
        ComplaintEvent.objects.bulk_create([
            ComplaintEvent(complaint_id=row["id"], kind=kind, clock=clock, at=now,
                           round=row["round"] if clock == "department" else 1,
                           data={"due_at": row[f"{clock}_due_at"].isoformat()})
            for row in rows
        ], ignore_conflicts=True)  # the unique mark constraint backs the flag up
        if mark == "breach" and clock == "resolution":
            ComplaintEvent.objects.bulk_create([
                ComplaintEvent(complaint_id=row["id"], kind=Kind.ESCALATED, clock=clock, at=now,
                               note=_("解决超时，已通知总经理"))
                for row in rows
            ])
        managers = _managers_of({row["store_id"] for row in rows})
        for row in rows:
            round_key = row["round"] if clock == "department" else 1
            notification_send(
                users=[User(pk=pk) for pk in _recipients(row, clock, mark, managers)],
                title=_mark_title(row, clock, mark), url=complaint_url(row["id"]),
                dedupe_key=f"complaint:{row['id']}:{clock}:{round_key}:{mark}",
                alert="urgent" if mark == "breach" else "routine", store=row["store_id"],
            )
    return len(ids)


def complaints_sweep(*, now=None, batch=500):
    """Record every warning and breach that is due at `now`: each once, however often
    and however concurrently the sweep runs (the flag, the event and the notification
    are written in the transaction that claimed the row)."""
    now = _second(now or timezone.now())
    counts = {}
    for clock, mark in MARKS:
        total = 0
        while True:
            done = _sweep_batch(clock, mark, now, batch)
            total += done
            if done < batch:
                break
        counts[f"{clock}_{mark}"] = total
    return counts


# Erasure at the customer's request -------------------------------------------------------------

COMPLAINT_TEXT_FIELDS = ("description", "root_cause", "corrective_action", "department_feedback",
                         "resolution", "pause_reason")


def _attachments_rename(attachments):
    """Files are stored under a name taken from the uploaded one, which may name the
    customer: each is copied to "<complaint>/<attachment id>.<extension>" and shown by
    that name; the old files are removed once the erasure commits."""
    rows = list(attachments)
    old_names = []
    for row in rows:
        storage, old = row.file.storage, row.file.name
        extension = old.rsplit(".", 1)[-1] if "." in old.rsplit("/", 1)[-1] else "bin"
        target = f"complaints/{row.complaint_id}/{row.pk}.{extension}"
        if storage.exists(old):
            with storage.open(old, "rb") as content:
                row.file.name = storage.save(target, content)
            old_names.append((storage, old))
        else:
            row.file.name = target
        row.original_name = row.file.name.rsplit("/", 1)[-1]
    ComplaintAttachment.objects.bulk_update(rows, ["file", "original_name"])

    def delete_old_files():
        for storage, name in old_names:
            storage.delete(name)

    transaction.on_commit(delete_old_files)
    return len(rows)


def customer_scrub(*, customer):
    """Scrub what this floor holds about a customer whose personal data is erased
    (customers.services.customer_erase, through the "customer erased" hook): the text of
    their complaints (description, analysis, feedback, resolution, pause reason) and of
    the complaints' history rows and timeline events, the attachments' names, and the
    staff notifications and admin-log entries naming them. Every complaint, event,
    status, clock and foreign key stays, so the complaint counts and SLA figures do not
    move. Set-based (the attachment files are copied one by one); returns
    {what: rows scrubbed}."""
    from crm_site.models import Notification
    from customers import hooks as customer_hooks
    from customers.services import erased_name

    erased_text = customer_hooks.erased_text(*COMPLAINT_TEXT_FIELDS)
    identity = ((customer.name, erased_name(customer)), (customer.mobile, ""))
    complaints = Complaint.objects.filter(customer=customer)
    urls = [complaint_url(pk) for pk in complaints.values_list("pk", flat=True)]
    return {
        "complaint_notifications": Notification.objects.filter(url__in=urls).update(
            title=customer_hooks.replaced("title", *identity),
            **customer_hooks.erased_text("body")),
        "complaints_admin_log": customer_hooks.admin_log_scrub(
            complaints, customer_hooks.replaced("object_repr", *identity)),
        "complaints": complaints.update(**erased_text),
        "complaint_history": Complaint.history.filter(id__in=complaints.values("pk")).update(
            **erased_text),
        "complaint_events": ComplaintEvent.objects.filter(complaint__in=complaints).update(
            **customer_hooks.erased_text("note")),
        # A resumed clock keeps the pause reason among its data.
        "complaint_event_data": ComplaintEvent.objects.filter(
            complaint__in=complaints, data__has_key="reason").exclude(data__reason="").update(
            **customer_hooks.erased_json_text("data", "reason")),
        "complaint_attachments": _attachments_rename(
            ComplaintAttachment.objects.filter(complaint__in=complaints).order_by("id")),
    }
