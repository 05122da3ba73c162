"""Every write of the inspections floor, named after what happens: templates are copied
and edited, rounds are scheduled, started, answered and completed, failures become
timed rectifications that are fixed, re-checked and swept for deadlines."""

import logging
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from crm_site.models import Activity, Store, User
from crm_site.roles import Role
from crm_site.scoping import check_store, works_for
from crm_site.selectors import store_calendar
from crm_site.services import notification_send
from crm_site.settings_pages import row_save

from . import photos, rules
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    DeadlinePolicy,
    Inspection,
    InspectionResult,
    Outcome,
    Photo,
    Rectification,
    RoundRule,
    Severity,
)

logger = logging.getLogger(__name__)


def _require(actor, perm, store):
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限。"))
    check_store(actor, store)


def _store_staff(store):
    return User.objects.filter(stores=store, is_active=True)


# Checklists -----------------------------------------------------------------------------

@transaction.atomic
def checklists_ensure_for_store(*, store):
    """Give a store its own copy of every default checklist (items and round times) it
    does not have yet. Safe to run any number of times, also at once in two processes
    (two beats): the store's row is locked first, so the second waits and finds the
    copies made."""
    Store.objects.select_for_update().filter(pk=store.pk).first()
    have = set(ChecklistTemplate.objects.filter(store=store).values_list("area", flat=True))
    created = []
    defaults = (ChecklistTemplate.objects.defaults().active().exclude(area__in=have)
                .prefetch_related("items", "rules"))
    for default in defaults:
        template = ChecklistTemplate.objects.create(store=store, area=default.area, name=default.name)
        bulk_create_with_history([
            ChecklistItem(template=template, position=item.position, text=item.text, weight=item.weight,
                          photo_required=item.photo_required, severity=item.severity)
            for item in default.items.all() if item.is_active
        ], ChecklistItem)
        bulk_create_with_history([
            RoundRule(template=template, time_of_day=rule.time_of_day)
            for rule in default.rules.all() if rule.is_active
        ], RoundRule)
        created.append(template)
    return created


def _check_template_edit(actor, template):
    if template.store_id is None:
        if not actor.is_superuser:
            raise PermissionDenied(_("默认检查表只能由系统管理员修改。"))
        return
    _require(actor, "inspections.change_checklisttemplate", template.store)


def _validate_item(text, weight):
    errors = {}
    if not (text or "").strip():
        errors["text"] = _("请填写检查标准。")
    if weight is None or int(weight) < 1 or int(weight) > 100:
        errors["weight"] = _("权重须在 1 到 100 之间。")
    if errors:
        raise ValidationError(errors)


def _bump(template):
    ChecklistTemplate.objects.filter(pk=template.pk).update(version=template.version + 1)
    template.refresh_from_db(fields=["version"])


_UNCHANGED = object()


@transaction.atomic
def checklist_template_update(*, actor, template, name=None, responsible=_UNCHANGED, is_active=None):
    """A manager renames a checklist, names who fixes its failures by default (None:
    nobody), or switches it off. Arguments left out stay as they are."""
    _check_template_edit(actor, template)
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("请填写名称。")})
        template.name = name.strip()
    if responsible is not _UNCHANGED:
        if responsible is not None and template.store_id is not None and \
                not _store_staff(template.store).filter(pk=responsible.pk).exists():
            raise ValidationError({"responsible": _("责任人须是本店员工。")})
        template.responsible = responsible
    if is_active is not None:
        template.is_active = is_active
    template.save()
    return template


@transaction.atomic
def checklist_item_add(*, actor, template, text, weight=1, photo_required=True,
                       severity=Severity.MINOR, position=None):
    """Add a standard to a checklist; the template gets a new version."""
    _check_template_edit(actor, template)
    _validate_item(text, weight)
    if position is None:
        last = template.items.filter(is_active=True).order_by("-position").first()
        position = (last.position + 1) if last else 1
    item = ChecklistItem.objects.create(template=template, text=text.strip(), weight=weight,
                                        photo_required=photo_required, severity=severity,
                                        position=position)
    _bump(template)
    return item


@transaction.atomic
def checklist_item_update(*, actor, item, **fields):
    """Change a standard. An item already answered on some round is never edited in
    place: it is retired and a new item takes its place, so past rounds keep the text
    and weight they were scored on. Returns the item now in force."""
    template = item.template
    _check_template_edit(actor, template)
    if not item.is_active:
        raise ValidationError({"item": _("该检查项已停用，不能修改。")})
    allowed = {"text", "weight", "photo_required", "severity", "position"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({"item": _("不能修改：%(fields)s") % {"fields": ", ".join(sorted(unknown))}})
    values = {name: getattr(item, name) for name in allowed} | fields
    _validate_item(values["text"], values["weight"])
    values["text"] = values["text"].strip()
    if all(getattr(item, name) == value for name, value in values.items()):
        return item
    if item.results.exists():
        item.is_active = False
        item.save(update_fields=["is_active"])
        item = ChecklistItem.objects.create(template=template, **values)
    else:
        for name, value in values.items():
            setattr(item, name, value)
        item.save()
    _bump(template)
    return item


@transaction.atomic
def checklist_item_retire(*, actor, item):
    """Take a standard off the checklist; past answers to it stay."""
    _check_template_edit(actor, item.template)
    if item.is_active:
        item.is_active = False
        item.save(update_fields=["is_active"])
        _bump(item.template)
    return item


# Scheduling -----------------------------------------------------------------------------

def rounds_schedule(*, now=None, stores=None):
    """Create the day's rounds of every store that works today (its own calendar and
    time zone), one per active round rule. A rule's round is unique per day, so running
    this twice, or in two beats at once, creates each round once. Returns how many
    rounds were created."""
    now = now or timezone.now()
    stores = stores if stores is not None else Store.objects.filter(is_active=True)
    created = 0
    for store in stores:
        day = timezone.localtime(now, ZoneInfo(store.time_zone)).date()
        if not store_calendar(store, Activity.INSPECTIONS, start=day, end=day).is_working_day(day):
            continue
        checklists_ensure_for_store(store=store)
        rule_rows = (RoundRule.objects.filter(is_active=True, template__store=store,
                                              template__is_active=True)
                     .select_related("template"))
        rounds = [
            Inspection(store=store, template=rule.template, area=rule.template.area, rule=rule, day=day,
                       scheduled_for=rules.round_time(day, rule.time_of_day, store.time_zone))
            for rule in rule_rows
        ]
        before = Inspection.objects.filter(store=store, day=day, rule__isnull=False).count()
        Inspection.objects.bulk_create(rounds, ignore_conflicts=True)
        created += Inspection.objects.filter(store=store, day=day, rule__isnull=False).count() - before
    return created


@transaction.atomic
def inspection_create_extra(*, actor, template, now=None):
    """An extra round outside the plan (e.g. after a complaint about the lounge)."""
    _require(actor, "inspections.perform_inspection", template.store)
    now = now or timezone.now()
    day = timezone.localtime(now, ZoneInfo(template.store.time_zone)).date()
    inspection = Inspection.objects.create(store=template.store, template=template, area=template.area,
                                           day=day, scheduled_for=now)
    return inspection_start(inspection=inspection, actor=actor, now=now)


# A round ---------------------------------------------------------------------------------

@transaction.atomic
def inspection_start(*, inspection, actor, now=None):
    """The inspector opens a round: the checklist as it is now is copied onto the
    round's results (text, weight, severity, photo rule). Opening it again changes
    nothing."""
    _require(actor, "inspections.perform_inspection", inspection.store)
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if inspection.status != Inspection.Status.SCHEDULED:
        return inspection
    now = now or timezone.now()
    template = inspection.template
    items = list(template.items.filter(is_active=True).order_by("position", "id"))
    if not items:
        raise ValidationError({"template": _("检查表没有任何检查项。")})
    bulk_create_with_history([
        InspectionResult(inspection=inspection, item=item, position=index, text=item.text,
                         weight=item.weight, severity=item.severity, photo_required=item.photo_required)
        for index, item in enumerate(items, start=1)
    ], InspectionResult, default_user=actor, default_date=now)
    inspection.status = Inspection.Status.IN_PROGRESS
    inspection.inspector = actor
    inspection.started_at = now
    inspection.template_version = template.version
    inspection.save()
    return inspection


def _check_in_progress(inspection):
    if inspection.status != Inspection.Status.IN_PROGRESS:
        raise ValidationError({"inspection": _("该检查未在进行中，不能修改。")})


@transaction.atomic
def inspection_answer(*, result, actor, outcome, note=None, responsible=None, now=None):
    """Record the answer to one item as soon as it is given (pass, fail or not
    applicable), with an optional note and, for a failure, who must fix it (the
    checklist's default person when none is named)."""
    inspection = Inspection.objects.select_for_update().get(pk=result.inspection_id)
    _require(actor, "inspections.perform_inspection", inspection.store)
    _check_in_progress(inspection)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("请选择合格、不合格或不适用。")})
    if responsible is not None and not _store_staff(inspection.store).filter(pk=responsible.pk).exists():
        raise ValidationError({"responsible": _("责任人须是本店员工。")})
    result.outcome = outcome
    if note is not None:
        result.note = note.strip()[:500]
    if outcome == Outcome.FAIL:
        result.responsible = responsible or result.responsible or inspection.template.responsible
    else:
        result.responsible = None
    result.answered_at = now or timezone.now()
    result.answered_by = actor
    result.save()
    return result


def _store_photo(*, store, result, rectification, kind, actor, upload, now, field):
    prepared = photos.prepare(upload, field=field)
    photo = Photo(store=store, result=result, rectification=rectification, kind=kind, uploaded_by=actor,
                  uploaded_at=now or timezone.now(), size=len(prepared.content),
                  width=prepared.width, height=prepared.height,
                  original_name=prepared.original_name)
    photo.image.save("photo.jpg", ContentFile(prepared.content), save=False)
    try:
        with transaction.atomic():
            photo.save()
    except Exception:
        photo.image.storage.delete(photo.image.name)
        raise
    return photo


@transaction.atomic
def result_add_photo(*, result, actor, upload, now=None, field="photo"):
    """Attach a photo of a failure to a result while its round is open. The file is
    checked by content and resized before it is stored."""
    inspection = Inspection.objects.select_for_update().get(pk=result.inspection_id)
    _require(actor, "inspections.perform_inspection", inspection.store)
    _check_in_progress(inspection)
    return _store_photo(store=inspection.store, result=result, rectification=None,
                        kind=Photo.Kind.BEFORE, actor=actor, upload=upload, now=now, field=field)


def _policies():
    return [rules.Policy(p.store_id, p.area, p.severity, p.minutes) for p in DeadlinePolicy.objects.all()]


def _rectification_url(rectification):
    return reverse("inspections:rectification", args=[rectification.pk])


@transaction.atomic
def inspection_complete(*, inspection, actor, now=None):
    """Close a round: every item answered, every failure with its photo (where the
    standard asks for one) and a responsible person. The round is scored (weighted,
    N/A left out) and each failure becomes a rectification with its deadline, counted
    from now; the responsible people are told."""
    _require(actor, "inspections.perform_inspection", inspection.store)
    inspection = Inspection.objects.select_for_update().select_related("store").get(pk=inspection.pk)
    _check_in_progress(inspection)
    now = now or timezone.now()
    results = list(inspection.results.select_related("responsible").prefetch_related("photos"))
    errors = []
    for result in results:
        if not result.outcome:
            errors.append(_("第 %(n)s 项未填写：%(text)s") % {"n": result.position, "text": result.text})
        elif result.outcome == Outcome.FAIL:
            if result.photo_required and not result.photos.all():
                errors.append(_("第 %(n)s 项不合格，须拍照：%(text)s")
                              % {"n": result.position, "text": result.text})
            if result.responsible is None:
                errors.append(_("第 %(n)s 项不合格，须指定整改责任人：%(text)s")
                              % {"n": result.position, "text": result.text})
    if errors:
        raise ValidationError({"results": errors})
    outcome = rules.score((r.outcome, r.weight) for r in results)
    inspection.score = outcome.percent
    inspection.pass_count, inspection.fail_count, inspection.na_count = (
        outcome.passed, outcome.failed, outcome.not_applicable)
    inspection.status = Inspection.Status.COMPLETED
    inspection.completed_at = now
    inspection.save()
    policies = _policies()
    for result in results:
        if result.outcome != Outcome.FAIL:
            continue
        minutes = rules.deadline_minutes(policies, store_id=inspection.store_id, area=inspection.area,
                                         severity=result.severity)
        rectification = Rectification.objects.create(
            store=inspection.store, result=result, inspection=inspection, area=inspection.area,
            severity=result.severity, responsible=result.responsible, notified_at=now,
            due_at=rules.due_at(now, minutes),
        )
        local_due = timezone.localtime(rectification.due_at, ZoneInfo(inspection.store.time_zone))
        notification_send(
            users=[result.responsible],
            title=_("限时整改：%(text)s") % {"text": result.text[:120]},
            body=_("%(area)s检查不合格，请在 %(due)s 前整改并上传整改后照片。") % {
                "area": inspection.get_area_display(), "due": f"{local_due:%m-%d %H:%M}"},
            url=_rectification_url(rectification),
            dedupe_key=f"inspections:rectification:{rectification.pk}:assigned",
        )
    return inspection


# Rectifications ---------------------------------------------------------------------------

def _check_fixer(actor, rectification):
    if actor.pk == rectification.responsible_id and actor.has_perm("inspections.fix_rectification"):
        return
    if actor.has_perm("inspections.verify_rectification") and (
            works_for(actor, rectification.store_id)):
        return
    raise PermissionDenied(_("只有责任人可以提交整改。"))


@transaction.atomic
def rectification_add_photo(*, rectification, actor, upload, now=None, field="photo"):
    """The responsible person adds an after photo of the fix."""
    rectification = Rectification.objects.select_for_update().get(pk=rectification.pk)
    _check_fixer(actor, rectification)
    if rectification.status not in (Rectification.Status.OPEN, Rectification.Status.OVERDUE):
        raise ValidationError({"status": _("该整改已提交，不能再上传照片。")})
    return _store_photo(store=rectification.store, result=rectification.result, rectification=rectification,
                        kind=Photo.Kind.AFTER, actor=actor, upload=upload, now=now, field=field)


@transaction.atomic
def rectification_fix(*, rectification, actor, note="", upload=None, now=None):
    """The responsible person reports the fix, with the after photo (uploaded now or
    before). It then waits for the re-check."""
    rectification = Rectification.objects.select_for_update().get(pk=rectification.pk)
    _check_fixer(actor, rectification)
    if rectification.status not in (Rectification.Status.OPEN, Rectification.Status.OVERDUE):
        raise ValidationError({"status": _("该整改已提交，无需重复提交。")})
    now = now or timezone.now()
    if upload is not None:
        _store_photo(store=rectification.store, result=rectification.result, rectification=rectification,
                     kind=Photo.Kind.AFTER, actor=actor, upload=upload, now=now, field="photo")
    if not rectification.photos.filter(kind=Photo.Kind.AFTER).exists():
        raise ValidationError({"photo": _("照片：请上传整改后的照片。")})
    rectification.status = Rectification.Status.FIXED
    rectification.fixed_at = now
    rectification.fix_note = (note or "").strip()[:500]
    rectification.save()
    return rectification


@transaction.atomic
def rectification_verify(*, rectification, actor, passed, note="", now=None):
    """Re-check a reported fix. Passed: verified, done. Not passed: back to the
    responsible person with a fresh deadline; an earlier overdue still counts."""
    _require(actor, "inspections.verify_rectification", rectification.store)
    rectification = Rectification.objects.select_for_update().get(pk=rectification.pk)
    if rectification.status != Rectification.Status.FIXED:
        raise ValidationError({"status": _("只有已整改的问题才能复查。")})
    if actor.pk == rectification.responsible_id and not actor.is_superuser:
        raise PermissionDenied(_("不能复查自己负责的整改。"))
    now = now or timezone.now()
    rectification.verified_by = actor
    rectification.verify_note = (note or "").strip()[:500]
    if passed:
        rectification.status = Rectification.Status.VERIFIED
        rectification.verified_at = now
        rectification.save()
        return rectification
    minutes = rules.deadline_minutes(_policies(), store_id=rectification.store_id, area=rectification.area,
                                     severity=rectification.severity)
    rectification.status = Rectification.Status.OPEN
    rectification.reopened_count += 1
    rectification.notified_at = now
    rectification.due_at = rules.due_at(now, minutes)
    rectification.fixed_at = None
    rectification.save()
    notification_send(
        users=[rectification.responsible],
        title=_("复查未通过，请重新整改：%(text)s") % {"text": rectification.result.text[:120]},
        body=rectification.verify_note,
        url=_rectification_url(rectification),
        dedupe_key=f"inspections:rectification:{rectification.pk}:reopened:{rectification.reopened_count}",
    )
    return rectification


def _cr_managers(store):
    return list(User.objects.filter(stores=store, is_active=True, groups__name=Role.CR_MANAGER).distinct())


def rectifications_mark_overdue(*, now=None, batch=500):
    """Every minute: open rectifications past their deadline become overdue (counted
    against the person) and the person and the store's CR managers are told once.
    The state change and the notices share one transaction; due rows are locked with
    SKIP LOCKED, so two sweeps never handle the same row. Returns how many turned
    overdue."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = list(
                Rectification.objects.filter(status=Rectification.Status.OPEN, due_at__lt=now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("store", "result", "responsible").order_by("id")[:batch]
            )
            if not due:
                return total
            for rectification in due:
                rectification.status = Rectification.Status.OVERDUE
                rectification.overdue_at = rectification.overdue_at or now
            bulk_update_with_history(due, Rectification, ["status", "overdue_at"], default_date=now)
            managers = {}
            for rectification in due:
                store = rectification.store
                if store.pk not in managers:
                    managers[store.pk] = _cr_managers(store)
                users = {rectification.responsible, *managers[store.pk]}
                local_due = timezone.localtime(rectification.due_at, ZoneInfo(store.time_zone))
                notification_send(
                    users=users,
                    title=_("整改超时：%(text)s") % {"text": rectification.result.text[:120]},
                    body=_("%(person)s 负责的%(area)s整改已超过期限 %(due)s。") % {
                        "person": rectification.responsible, "area": rectification.get_area_display(),
                        "due": f"{local_due:%m-%d %H:%M}"},
                    url=_rectification_url(rectification),
                    dedupe_key=(f"inspections:rectification:{rectification.pk}:overdue:"
                                f"{rectification.reopened_count}"),
                    alert="urgent", store=store,
                )
            total += len(due)


# Settings: check times and fix minutes -----------------------------------------------------

ROUND_RULE_FIELDS = ("template", "time_of_day", "is_active")
DEADLINE_FIELDS = ("store", "area", "severity", "minutes")


@transaction.atomic
def round_rule_save(*, actor, row=None, change_note, **fields):
    """A manager adds or changes a check time of a checklist of their store (display
    cars at 09:00 and 14:15 by default); stopped with is_active off, never deleted."""
    return row_save(actor=actor, model=RoundRule, row=row, change_note=change_note,
                    permission="inspections.change_roundrule" if row else
                    "inspections.add_roundrule", fields=fields, editable=ROUND_RULE_FIELDS,
                    store_field="template__store")


@transaction.atomic
def deadline_policy_save(*, actor, row=None, change_note, **fields):
    """A manager sets how many minutes a failure of an area and severity has to be fixed
    in their store (10 minutes for display cars by default); the store's row overrides
    the group's."""
    return row_save(actor=actor, model=DeadlinePolicy, row=row, change_note=change_note,
                    permission="inspections.change_deadlinepolicy" if row else
                    "inspections.add_deadlinepolicy", fields=fields, editable=DEADLINE_FIELDS)
