"""Every write of the satisfaction work, named after what the business does."""

import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.roles import Role
from crm_site.scoping import check_store, stores_of
from crm_site.services import notification_send

from . import importing, rules
from .models import (
    BAND_FIELDS,
    AnalysisMeeting,
    Countermeasure,
    CustomerAnalysisSnapshot,
    CustomerBand,
    ImprovementPlan,
    ItemScore,
    ManufacturerReport,
    Measure,
    MonthlyFigure,
    MonthlySnapshot,
    MysteryShopCheck,
    MysteryShopResult,
    SatisfactionPolicy,
    ScoreImport,
    Survey,
    SurveyComplaint,
    Target,
    WeakItem,
)
from .selectors import policy_for, target_for

logger = logging.getLogger(__name__)

ITEM_MEASURE = {Survey.CSS: Measure.CSS_ITEM, Survey.CSI: Measure.CSI_ITEM, Survey.MS: Measure.MS_ITEM}


def _staff_of_store(user, store):
    return get_user_model().objects.filter(pk=user.pk, stores=store, is_active=True).exists()


def _managers(store, roles=(Role.CR_MANAGER,)):
    return get_user_model().objects.filter(stores=store, is_active=True,
                                           groups__name__in=list(roles)).distinct()


# Manufacturer reports ----------------------------------------------------------------------

def score_import_file(*, actor, name, content, now=None):
    """Import a manufacturer CSS/CSI file. The whole file or nothing: when any row is
    bad the import is recorded as rejected with every row's reason and no score is
    written. A valid file upserts each store's report for its month, finds the weak
    items, checks open plans against the new scores and schedules the analysis meeting.
    Returns the ScoreImport."""
    if not actor.has_perm("satisfaction.add_scoreimport"):
        raise PermissionDenied(_("您没有导入厂家报告的权限。"))
    now = now or timezone.now()
    stores = {store.code: store for store in stores_of(actor)}
    parsed = importing.parse(name, content, stores)
    if parsed.errors:
        return ScoreImport.objects.create(
            file_name=name[:200], uploaded_by=actor, status=ScoreImport.Status.REJECTED,
            row_count=parsed.row_count, errors=parsed.errors[:500],
        )
    with transaction.atomic():
        score_import = ScoreImport.objects.create(
            file_name=name[:200], uploaded_by=actor, status=ScoreImport.Status.IMPORTED,
            row_count=parsed.row_count,
        )
        reports = [_report_save(data, score_import, now) for data in parsed.reports]
        score_import.stores.set({report.store_id for report in reports})
        for report in reports:
            weak_items_detect(report=report, now=now)
            improvement_plans_check_recovery(report=report, now=now)
            analysis_meeting_schedule(report=report, now=now)
    return score_import


def _report_save(data, score_import, now):
    report, _created = ManufacturerReport.objects.update_or_create(
        store=data.store, survey=data.survey, period=data.period,
        defaults={"total_score": data.total(), "region_rank": data.region_rank,
                  "region_size": data.region_size, "grade": data.grade,
                  "score_import": score_import, "imported_at": now},
    )
    report.items.exclude(code__in=list(data.items)).delete()
    existing = {item.code: item for item in report.items.all()}
    changed, new = [], []
    for code, (name, score, region_average) in data.items.items():
        item = existing.get(code)
        if item is None:
            new.append(ItemScore(report=report, code=code, name=name, score=score,
                                 region_average=region_average))
        else:
            item.name, item.score, item.region_average = name, score, region_average
            changed.append(item)
    ItemScore.objects.bulk_create(new)
    ItemScore.objects.bulk_update(changed, ["name", "score", "region_average"])
    return report


def weak_items_detect(*, report, now=None):
    """Find the weak items of one report (below the item target or among the lowest
    items) and keep the WeakItem rows in step: a re-import adds the new ones and drops
    the ones no longer weak unless a plan already addresses them."""
    now = now or timezone.now()
    items = list(report.items.all())
    target = target_for(ITEM_MEASURE[report.survey], report.store_id, report.period)
    policy = policy_for(report.store_id)
    found = rules.find_weak_items([(item.code, item.score) for item in items],
                                  target.value if target else None, policy.bottom_n)
    by_code = {item.code: item for item in items}
    keep = []
    for code, reason in found:
        item = by_code[code]
        weak, _created = WeakItem.objects.update_or_create(
            store_id=report.store_id, survey=report.survey, period=report.period, code=code,
            defaults={"name": item.name, "score": item.score, "reason": reason,
                      "target": target.value if target else None, "report": report,
                      "detected_at": now},
        )
        keep.append(weak.pk)
    (WeakItem.objects.filter(store_id=report.store_id, survey=report.survey, period=report.period)
     .exclude(pk__in=keep).filter(plans__isnull=True).delete())
    return WeakItem.objects.filter(pk__in=keep)


def weak_items_detect_ms(*, store, period, now=None):
    """Month close for mystery shopping: each item's score rate over the month's checks
    (points over points possible), weak when below the MS item target or among the
    lowest items."""
    from django.db.models import Sum

    now = now or timezone.now()
    start = period
    end = rules.add_months(period, 1)
    rows = (MysteryShopResult.objects
            .filter(ms_check__store=store, ms_check__checked_on__gte=start,
                    ms_check__checked_on__lt=end)
            .values("item_id", "item__code", "item__name")
            .annotate(points=Sum("points"), possible=Sum("max_points")))
    scores = {row["item__code"]: (row["item__name"], rules.rate(row["points"], row["possible"]))
              for row in rows}
    target = target_for(Measure.MS_ITEM, store.pk, period)
    policy = policy_for(store.pk)
    found = rules.find_weak_items([(code, score) for code, (_n, score) in scores.items()],
                                  target.value if target else None, policy.bottom_n)
    keep = []
    for code, reason in found:
        name, score = scores[code]
        weak, _created = WeakItem.objects.update_or_create(
            store=store, survey=Survey.MS, period=period, code=code,
            defaults={"name": name, "score": score, "reason": reason, "report": None,
                      "target": target.value if target else None, "detected_at": now},
        )
        keep.append(weak.pk)
    (WeakItem.objects.filter(store=store, survey=Survey.MS, period=period)
     .exclude(pk__in=keep).filter(plans__isnull=True).delete())
    return WeakItem.objects.filter(pk__in=keep)


def improvement_plans_check_recovery(*, report, now=None):
    """Check the open plans on this report's survey against its scores: a plan whose item
    (found weak in an earlier month) is back at its target closes as recovered; the
    others record the score they were checked against. Returns the plans closed."""
    now = now or timezone.now()
    scores = dict(report.items.values_list("code", "score"))
    target = target_for(ITEM_MEASURE[report.survey], report.store_id, report.period)
    plans = (ImprovementPlan.objects.select_for_update()
             .filter(store_id=report.store_id, weak_item__survey=report.survey,
                     weak_item__period__lt=report.period)
             .exclude(status=ImprovementPlan.Status.CLOSED).select_related("weak_item"))
    closed = []
    for plan in plans:
        if plan.last_checked_period and plan.last_checked_period > report.period:
            continue  # an older month re-imported says nothing new
        score = scores.get(plan.weak_item.code)
        if score is None:
            continue
        plan.last_checked_period, plan.last_checked_score = report.period, score
        recovered = rules.item_recovered(score, plan.target_score or (target.value if target else None),
                                         plan.weak_item.score)
        fields = ["last_checked_period", "last_checked_score"]
        if recovered:
            plan.status, plan.closed_at = ImprovementPlan.Status.CLOSED, now
            plan.closed_how = ImprovementPlan.ClosedHow.RECOVERED
            plan.close_reason = _("%(month)s 得分 %(score)s，已达到目标。") % {
                "month": f"{report.period:%Y-%m}", "score": score}
            fields += ["status", "closed_at", "closed_how", "close_reason"]
            closed.append(plan)
        plan.save(update_fields=fields)
    return closed


# The analysis meeting ----------------------------------------------------------------------

def analysis_meeting_schedule(*, report, now=None):
    """After a report: one meeting per report, due within the store's meeting days, with
    the report's weak items on the agenda; the CR managers of the store are told.
    Running it again keeps the meeting and refreshes the agenda while it is not held."""
    now = now or timezone.now()
    policy = policy_for(report.store_id)
    due_on = rules.meeting_due_on(timezone.localdate(now), policy.meeting_due_days)
    meeting, created = AnalysisMeeting.objects.get_or_create(
        report=report, defaults={"store_id": report.store_id, "period": report.period,
                                 "due_on": due_on},
    )
    if meeting.status == AnalysisMeeting.Status.SCHEDULED:
        meeting.agenda.set(report.weak_items.all())
    if created:
        notification_send(
            users=_managers(report.store),
            title=_("%(survey)s %(month)s 报告已导入，请在 %(due)s 前召开满意度分析会") % {
                "survey": report.get_survey_display(), "month": f"{report.period:%Y-%m}",
                "due": due_on.isoformat()},
            url=reverse("satisfaction:meeting-detail", args=[meeting.pk]),
            dedupe_key=f"satisfaction-meeting-{meeting.pk}",
        )
    return meeting


def analysis_meeting_update(*, actor, meeting, due_on):
    """A manager moves the meeting's due date."""
    if not actor.has_perm("satisfaction.change_analysismeeting"):
        raise PermissionDenied(_("您没有修改分析会的权限。"))
    if due_on is None:
        raise ValidationError({"due_on": _("请填写召开期限。")})
    meeting.due_on = due_on
    meeting.full_clean()
    meeting.save(update_fields=["due_on"])
    return meeting


@transaction.atomic
def analysis_meeting_record(*, actor, meeting, held_at, minutes, decisions, attendees=""):
    """The meeting was held: minutes and decisions recorded."""
    if not actor.has_perm("satisfaction.change_analysismeeting"):
        raise PermissionDenied(_("您没有记录分析会的权限。"))
    errors = {}
    if not (minutes or "").strip():
        errors["minutes"] = _("请填写会议纪要。")
    if not (decisions or "").strip():
        errors["decisions"] = _("请填写会议决议。")
    if held_at is None:
        errors["held_at"] = _("请填写召开时间。")
    elif held_at > timezone.now():
        errors["held_at"] = _("召开时间不能晚于现在。")
    if errors:
        raise ValidationError(errors)
    meeting.status = AnalysisMeeting.Status.HELD
    meeting.held_at, meeting.chair = held_at, actor
    meeting.minutes, meeting.decisions, meeting.attendees = minutes, decisions, attendees
    meeting.save()
    return meeting


# Targets and policy -------------------------------------------------------------------------

def target_set(*, actor, measure, value, store=None, period=None, threshold=None,
               secure_grade="", strive_grade="", note=""):
    """Set (create or change) a target. A store target needs that store in the actor's
    scope; a default for every store needs a superuser."""
    if not actor.has_perm("satisfaction.change_target"):
        raise PermissionDenied(_("您没有修改目标的权限。"))
    if store is None and not actor.is_superuser:
        raise ValidationError({"store": _("只有系统管理员可以修改全部门店的默认目标。")})
    if store is not None:
        check_store(actor, store, field="store")
    if period is not None:
        period = rules.month_start(period)
    target, _created = Target.objects.get_or_create(
        measure=measure, store=store, period=period,
        defaults={"value": value},
    )
    target.value, target.threshold = value, threshold
    target.secure_grade, target.strive_grade, target.note = secure_grade, strive_grade, note
    target.full_clean(validate_constraints=False)
    target.save()
    return target


def policy_set(*, actor, store, meeting_due_days, bottom_n):
    if not actor.has_perm("satisfaction.change_satisfactionpolicy"):
        raise PermissionDenied(_("您没有修改规则的权限。"))
    check_store(actor, store, field="store")
    policy, _created = SatisfactionPolicy.objects.update_or_create(
        store=store, defaults={"meeting_due_days": meeting_due_days, "bottom_n": bottom_n})
    return policy


# Mystery shopping -----------------------------------------------------------------------------

OPEN_CHECKERS = {Role.CR_MANAGER, Role.GENERAL_MANAGER, Role.SALES_MANAGER, Role.SERVICE_MANAGER}
COVERT_CHECKERS = {Role.CR_MANAGER, Role.CR_SPECIALIST, Role.CALLER}


@transaction.atomic
def mystery_check_record(*, actor, store, kind, department, checked_on, staff, results, notes=""):
    """Record a mystery-shopper check of one member of staff. `results` is
    [(MysteryShopItem, points, remark), ...]. Open checks are made by managers, covert
    ones by the CR department. The score is points over points possible, in percent."""
    if not actor.has_perm("satisfaction.add_mysteryshopcheck"):
        raise PermissionDenied(_("您没有录入神秘访客检查的权限。"))
    check_store(actor, store, field="store")
    allowed = OPEN_CHECKERS if kind == MysteryShopCheck.Kind.OPEN else COVERT_CHECKERS
    if not actor.is_superuser and not actor.has_role(*allowed):
        raise ValidationError({"kind": _("明检由经理进行，暗访由客户关爱部进行。")})
    errors = {}
    if not _staff_of_store(staff, store):
        errors["staff"] = _("被检员工不属于该门店。")
    if checked_on > timezone.localdate():
        errors["checked_on"] = _("检查日期不能晚于今天。")
    if not results:
        errors["results"] = _("请至少为一个检查项打分。")
    rows = []
    for item, points, remark in results:
        if item.store_id not in (None, store.pk) or item.department != department:
            errors["results"] = _("检查项“%(item)s”不适用于该门店或部门。") % {"item": item.name}
            break
        if points is None or not 0 <= points <= item.max_points:
            errors["results"] = _("检查项“%(item)s”的得分应在 0 到 %(max)s 之间。") % {
                "item": item.name, "max": item.max_points}
            break
        rows.append((item, points, remark or ""))
    if len({item.pk for item, _p, _r in rows}) != len(rows):
        errors["results"] = _("同一检查项只能打分一次。")
    if errors:
        raise ValidationError(errors)
    score = rules.points_score([(points, item.max_points) for item, points, _r in rows])
    check = MysteryShopCheck.objects.create(
        store=store, kind=kind, department=department, checked_on=checked_on, staff=staff,
        checker=actor, score=score, notes=notes,
    )
    MysteryShopResult.objects.bulk_create(
        MysteryShopResult(ms_check=check, item=item, points=points, max_points=item.max_points,
                          remark=remark)
        for item, points, remark in rows
    )
    return check


# Improvement plans ------------------------------------------------------------------------------

PLAN_TEXT_FIELDS = ("title", "problem", "breakdown", "target_text", "target_score", "whys",
                    "root_cause", "implementation", "evaluation", "standardisation",
                    "complaint_category", "inspection_area", "department", "owner")

# What a step needs filled before the plan may move past it.
STEP_NEEDS = {
    ImprovementPlan.Step.PROBLEM: ("problem",),
    ImprovementPlan.Step.BREAKDOWN: ("breakdown",),
    ImprovementPlan.Step.TARGET: ("target_text",),
    ImprovementPlan.Step.ROOT_CAUSE: ("whys", "root_cause"),
    ImprovementPlan.Step.COUNTERMEASURES: ("countermeasures",),
    ImprovementPlan.Step.IMPLEMENTATION: ("implementation",),
    ImprovementPlan.Step.EVALUATION: ("evaluation",),
    ImprovementPlan.Step.STANDARDISATION: ("standardisation",),
}


def _clean_whys(whys):
    whys = [str(why).strip() for why in (whys or []) if str(why).strip()]
    if len(whys) > 5:
        raise ValidationError({"whys": _("最多填写5个为什么。")})
    return whys


def _validate_plan(plan, actor):
    errors = {}
    if plan.weak_item_id and plan.weak_item.store_id != plan.store_id:
        errors["weak_item"] = _("薄弱项不属于该门店。")
    if plan.owner_id and not _staff_of_store(plan.owner, plan.store):
        errors["owner"] = _("负责人不属于该门店。")
    if not (plan.title or "").strip():
        errors["title"] = _("请填写标题。")
    if not (plan.weak_item_id or plan.complaint_category or plan.inspection_area):
        errors["weak_item"] = _("请关联薄弱项、投诉类别或巡检区域。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def improvement_plan_create(*, actor, store, title, department, owner, weak_item=None, **fields):
    """A department head starts a PDCA plan for a weak item (or a complaint category or
    inspection area)."""
    if not actor.has_perm("satisfaction.add_improvementplan"):
        raise PermissionDenied(_("您没有创建改善计划的权限。"))
    check_store(actor, store, field="store")
    unknown = set(fields) - set(PLAN_TEXT_FIELDS)
    if unknown:
        raise ValidationError({"__all__": _("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))}})
    fields["whys"] = _clean_whys(fields.get("whys"))
    plan = ImprovementPlan(store=store, title=title, department=department, owner=owner,
                           weak_item=weak_item, **fields)
    if weak_item is not None and plan.target_score is None:
        plan.target_score = weak_item.target
    _validate_plan(plan, actor)
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def improvement_plan_update(*, actor, plan, **fields):
    """Fill in or change the plan's steps. A closed plan is not changed."""
    plan = ImprovementPlan.objects.select_for_update().get(pk=plan.pk)
    if not actor.has_perm("satisfaction.change_improvementplan"):
        raise PermissionDenied(_("您没有修改改善计划的权限。"))
    if plan.status == ImprovementPlan.Status.CLOSED:
        raise ValidationError({"status": _("计划已关闭，不能修改。")})
    unknown = set(fields) - set(PLAN_TEXT_FIELDS) - {"weak_item"}
    if unknown:
        raise ValidationError({"__all__": _("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))}})
    if "whys" in fields:
        fields["whys"] = _clean_whys(fields["whys"])
    for name, value in fields.items():
        setattr(plan, name, value)
    _validate_plan(plan, actor)
    plan.full_clean()
    plan.save()
    return plan


def _step_missing(plan, step):
    missing = []
    for name in STEP_NEEDS[step]:
        if name == "countermeasures":
            if not plan.countermeasures.exists():
                missing.append(name)
        elif not getattr(plan, name):
            missing.append(name)
    return missing


@transaction.atomic
def improvement_plan_advance(*, actor, plan):
    """Move the plan to its next PDCA step once the current step is filled in. Carrying
    out countermeasures (step 6) needs the plan approved first."""
    plan = ImprovementPlan.objects.select_for_update().get(pk=plan.pk)
    if not actor.has_perm("satisfaction.change_improvementplan"):
        raise PermissionDenied(_("您没有修改改善计划的权限。"))
    if plan.status == ImprovementPlan.Status.CLOSED:
        raise ValidationError({"status": _("计划已关闭。")})
    if plan.step >= ImprovementPlan.Step.STANDARDISATION:
        raise ValidationError({"step": _("已是最后一步；计划在项目恢复或主管关闭时结束。")})
    missing = _step_missing(plan, plan.step)
    if missing:
        labels = [str(ImprovementPlan._meta.get_field(name).verbose_name) if name != "countermeasures"
                  else _("对策") for name in missing]
        raise ValidationError({"step": _("请先完成本步骤：%(fields)s") % {"fields": "、".join(labels)}})
    if plan.step + 1 == ImprovementPlan.Step.IMPLEMENTATION and plan.status == ImprovementPlan.Status.DRAFT:
        raise ValidationError({"step": _("计划需先经CR主管批准才能实施。")})
    plan.step += 1
    if plan.step >= ImprovementPlan.Step.IMPLEMENTATION:
        plan.status = ImprovementPlan.Status.IN_PROGRESS
    plan.save(update_fields=["step", "status"])
    return plan


@transaction.atomic
def improvement_plan_approve(*, actor, plan):
    """The CR manager approves the plan (target, root cause and countermeasures set)."""
    plan = ImprovementPlan.objects.select_for_update().get(pk=plan.pk)
    if not actor.has_perm("satisfaction.approve_improvementplan"):
        raise PermissionDenied(_("您没有批准改善计划的权限。"))
    if plan.status != ImprovementPlan.Status.DRAFT:
        raise ValidationError({"status": _("只有草稿状态的计划可以批准。")})
    if plan.step < ImprovementPlan.Step.COUNTERMEASURES or not plan.countermeasures.exists():
        raise ValidationError({"step": _("请先完成前五步（含对策）再提交批准。")})
    plan.status, plan.approved_by, plan.approved_at = (ImprovementPlan.Status.APPROVED, actor,
                                                       timezone.now())
    plan.save(update_fields=["status", "approved_by", "approved_at"])
    notification_send(users=[plan.owner], title=_("改善计划已批准：%(t)s") % {"t": plan.title},
                      url=reverse("satisfaction:plan-detail", args=[plan.pk]),
                      dedupe_key=f"plan-approved-{plan.pk}")
    return plan


@transaction.atomic
def improvement_plan_close(*, actor, plan, reason):
    """A manager closes a plan whose item has not (yet) recovered, giving the reason."""
    plan = ImprovementPlan.objects.select_for_update().get(pk=plan.pk)
    if not actor.has_perm("satisfaction.close_improvementplan"):
        raise PermissionDenied(_("只有主管可以关闭改善计划。"))
    if plan.status == ImprovementPlan.Status.CLOSED:
        raise ValidationError({"status": _("计划已关闭。")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写关闭原因。")})
    plan.status, plan.closed_at, plan.closed_by = ImprovementPlan.Status.CLOSED, timezone.now(), actor
    plan.closed_how, plan.close_reason = ImprovementPlan.ClosedHow.MANAGER, reason.strip()
    plan.save(update_fields=["status", "closed_at", "closed_by", "closed_how", "close_reason"])
    return plan


@transaction.atomic
def countermeasure_add(*, actor, plan, action, owner, due_on):
    if not actor.has_perm("satisfaction.change_improvementplan"):
        raise PermissionDenied(_("您没有修改改善计划的权限。"))
    if plan.status == ImprovementPlan.Status.CLOSED:
        raise ValidationError({"status": _("计划已关闭。")})
    errors = {}
    if not (action or "").strip():
        errors["action"] = _("请填写对策。")
    if owner is None or not _staff_of_store(owner, plan.store):
        errors["owner"] = _("负责人不属于该门店。")
    if due_on is None:
        errors["due_on"] = _("请填写完成期限。")
    if errors:
        raise ValidationError(errors)
    return Countermeasure.objects.create(plan=plan, action=action.strip(), owner=owner, due_on=due_on)


def countermeasure_complete(*, actor, countermeasure, done_on, result=""):
    if not actor.has_perm("satisfaction.change_improvementplan"):
        raise PermissionDenied(_("您没有修改改善计划的权限。"))
    if done_on is None or done_on > timezone.localdate():
        raise ValidationError({"done_on": _("完成日期不能为空或晚于今天。")})
    countermeasure.done_on, countermeasure.result = done_on, result
    countermeasure.save(update_fields=["done_on", "result"])
    return countermeasure


# The closed loop: a dissatisfied survey answer opens a complaint ----------------------------------

SURVEY_CATEGORY = {"sales": "attitude", "service": "service_quality"}
DISSATISFIED = 2  # followups.SatisfactionAnswer.Rating.DISSATISFIED: 2 and 1 are "or worse"


def _complaint_actor(task, answers):
    caller = answers[0].caller
    if caller.is_active and caller.stores.filter(pk=task.store_id).exists():
        return caller
    return _managers(task.store).first()


def survey_complaint_open(*, task_id):
    """Open one complaint for a follow-up call whose survey had an answer of
    "dissatisfied" or worse, through the complaints service. Exactly once per call: a
    second run (the outcome saved again, the sweep, two processes) finds the link row
    and does nothing; a call that already raised a complaint is linked to it instead.
    Returns the SurveyComplaint, or None when there is nothing to open."""
    from complaints import services as complaint_services
    from followups.models import SatisfactionAnswer, Task

    with transaction.atomic():
        task = (Task.objects.select_for_update(of=("self",))
                .select_related("store", "customer", "vehicle").filter(pk=task_id).first())
        if task is None:
            return None
        existing = SurveyComplaint.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
        answers = list(SatisfactionAnswer.objects.filter(task_id=task_id, rating__lte=DISSATISFIED)
                       .select_related("question", "caller").order_by("rating", "id"))
        if not answers:
            return None
        if task.complaint_id:
            return SurveyComplaint.objects.create(task_id=task_id, complaint_id=task.complaint_id,
                                                  store_id=task.store_id, opened=False)
        departments = [a.department for a in answers if a.department]
        department = max(set(departments), key=departments.count) if departments else ""
        description = _("回访满意度不满意：") + "；".join(
            f"{a.question.text} {a.get_rating_display()}" + (f"（{a.reason}）" if a.reason else "")
            for a in answers)
        actor = _complaint_actor(task, answers)
        complaint = complaint_services.complaint_open(
            actor=actor, customer=task.customer, vehicle=task.vehicle, channel="followup_call",
            category=SURVEY_CATEGORY.get(department, "other"), description=description,
            department=department if department in ("sales", "service") else "",
        )
        return SurveyComplaint.objects.create(task_id=task_id, complaint_id=complaint.pk,
                                              store_id=task.store_id, opened=True)


def survey_complaints_sweep(*, since):
    """Catch up: every call with a dissatisfied answer since `since` (a date) and no
    complaint link yet gets one. Safe to run any time, any number of times."""
    from followups.models import SatisfactionAnswer

    task_ids = (SatisfactionAnswer.objects.filter(rating__lte=DISSATISFIED, answered_on__gte=since)
                .exclude(task_id__in=SurveyComplaint.objects.values("task_id"))
                .values_list("task_id", flat=True).distinct().order_by("task_id"))
    opened = 0
    for task_id in list(task_ids[:500]):
        try:
            if survey_complaint_open(task_id=task_id):
                opened += 1
        except (ValidationError, PermissionDenied):
            logger.exception("survey complaint for task %s could not be opened", task_id)
    return opened


# The monthly summary -------------------------------------------------------------------------------

def figures_refresh(*, periods, store_ids=None, now=None):
    """Recompute the floors' figures (follow-up rate, satisfied share, complaint SLA
    compliance, inspection pass rate) of these months for every active store, and upsert
    them into the summary in one statement. Safe to run twice or concurrently."""
    from crm_site.models import Store

    from .selectors import live_source_figures

    now = now or timezone.now()
    if store_ids is None:
        store_ids = list(Store.objects.filter(is_active=True).values_list("pk", flat=True))
    figures = live_source_figures(store_ids, sorted(set(periods)))
    MonthlyFigure.objects.bulk_create(
        [MonthlyFigure(store_id=f.store_id, period=f.period, measure=f.measure, value=f.value,
                       numerator=f.numerator, denominator=f.denominator, computed_at=now)
         for f in figures],
        update_conflicts=True, unique_fields=["store", "period", "measure"],
        update_fields=["value", "numerator", "denominator", "computed_at"],
    )
    from . import sources

    snapshots = []
    for store_id in store_ids:
        for period in sorted(set(periods)):
            for source, raw in ((MonthlySnapshot.Source.COMPLAINTS,
                                 sources.complaint_raw([store_id], period, now)),
                                (MonthlySnapshot.Source.INSPECTIONS,
                                 sources.inspection_raw([store_id], period))):
                if raw is not None:
                    snapshots.append(MonthlySnapshot(store_id=store_id, period=period, source=source,
                                                     data=raw, computed_at=now))
    MonthlySnapshot.objects.bulk_create(
        snapshots, update_conflicts=True, unique_fields=["store", "period", "source"],
        update_fields=["data", "computed_at"])
    return len(figures)


def customer_analysis_spans(today):
    """The periods the refresh job keeps summarised: this and last month, this quarter
    and this year."""
    month = rules.parse_span(f"{today:%Y-%m}")
    return [month, rules.span_shift(month, -1),
            rules.parse_span(f"{today.year}-Q{(today.month - 1) // 3 + 1}"),
            rules.parse_span(f"{today.year}")]


def customer_analysis_refresh(*, store_ids=None, spans=None, today=None, now=None):
    """Recompute the customer analysis of these stores and periods (default: every active
    store; this and last month, this quarter, this year) and upsert the stored summary
    the page reads. Safe to run twice or concurrently."""
    from crm_site.models import Store

    from . import analysis

    now = now or timezone.now()
    today = today or timezone.localdate(now)
    spans = spans or customer_analysis_spans(today)
    stores = Store.objects.filter(is_active=True)
    if store_ids is not None:
        stores = stores.filter(pk__in=store_ids)
    snapshots = []
    for store in stores:
        for span in spans:
            result = analysis.customer_analysis(store, span, today=today)
            snapshots.append(CustomerAnalysisSnapshot(store=store, period=span.text, day=result.day,
                                                      data=analysis.as_data(result), computed_at=now))
    CustomerAnalysisSnapshot.objects.bulk_create(
        snapshots, update_conflicts=True, unique_fields=["store", "period"],
        update_fields=["day", "data", "computed_at"])
    return len(snapshots)


# Settings: the customer analysis bands -------------------------------------------------

@transaction.atomic
def customer_band_save(*, actor, band=None, note, **fields):
    """A manager adds a band (`band` None) or changes one; a band is retired
    (is_active off), never deleted. Kept in the history with the manager's note. The
    bands are the group's: one set for every store's analysis."""
    from crm_site.history import change_note, save_with_note

    perm = "satisfaction.add_customerband" if band is None else "satisfaction.change_customerband"
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有修改客户分析分段的权限。"))
    unknown = set(fields) - set(BAND_FIELDS)
    if unknown:
        raise ValidationError({name: [_("不能修改该项。")] for name in sorted(unknown)})
    note = change_note(note)
    band = CustomerBand() if band is None else \
        CustomerBand.objects.select_for_update().get(pk=band.pk)
    for name, value in fields.items():
        setattr(band, name, value)
    if not (band.label or "").strip():
        raise ValidationError({"label": [_("请填写名称。")]})
    return save_with_note(band, actor=actor, note=note)
