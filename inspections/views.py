"""Pages of the inspections floor, phone first: today's rounds, the one-thumb round form
(each answer saved as it is given), my rectifications, the re-check, the manager's
figures and the checklists."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from crm_site import validation
from crm_site.replica import reads_from_replica
from crm_site.scoping import stores_of
from crm_site.settings_pages import SettingsRows

from . import selectors, services
from .filters import RectificationFilter
from .forms import (
    AnswerForm,
    ChecklistForm,
    ChecklistItemForm,
    FixForm,
    PhotoForm,
    ReportFilterForm,
    VerifyForm,
)
from .models import (
    ChecklistItem,
    DeadlinePolicy,
    Inspection,
    InspectionResult,
    Outcome,
    Rectification,
    RoundRule,
)


def _messages_of(error):
    if hasattr(error, "message_dict"):
        return [m for values in error.message_dict.values() for m in values]
    return list(error.messages)


# Rounds ----------------------------------------------------------------------------------

@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def today(request):
    """The rounds of a day (today unless ?day=) in the user's stores."""
    day = validation.query_date(request.GET, "day", timezone.localdate())
    rounds = list(selectors.rounds_on(request.user, day))
    done = sum(1 for r in rounds if r.status == Inspection.Status.COMPLETED)
    return render(request, "inspections/today.html", {
        "rounds": rounds, "day": day, "done": done,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1),
        "is_today": day == timezone.localdate(),
        "can_inspect": request.user.has_perm("inspections.perform_inspection"),
    })


def _round_context(request, inspection):
    results = list(inspection.results.all())
    answered = sum(1 for r in results if r.outcome)
    return {
        "inspection": inspection, "results": results, "answered": answered, "total": len(results),
        "staff": list(selectors.staff_choices(inspection.store)),
        "can_inspect": request.user.has_perm("inspections.perform_inspection"),
        "outcomes": Outcome,
    }


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def inspection_detail(request, pk):
    """A round: the form while it is open, the result once completed."""
    inspection = get_object_or_404(selectors.inspection_with_results(request.user), pk=pk)
    return render(request, "inspections/inspection.html", _round_context(request, inspection))


@login_required
@require_POST
def inspection_start(request, pk):
    inspection = get_object_or_404(selectors.inspections_for(request.user), pk=pk)
    try:
        services.inspection_start(inspection=inspection, actor=request.user)
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
    return redirect("inspections:inspection", pk=inspection.pk)


def _result_for(request, pk):
    qs = InspectionResult.objects.filter(inspection__in=selectors.inspections_for(request.user))
    return get_object_or_404(qs.select_related("inspection", "inspection__store", "inspection__template"),
                             pk=pk)


def _card(request, result, errors=()):
    result = (InspectionResult.objects.select_related("responsible", "inspection", "inspection__store")
              .prefetch_related("photos").get(pk=result.pk))
    return render(request, "inspections/partials/result_card.html", {
        "result": result, "inspection": result.inspection, "errors": errors,
        "staff": list(selectors.staff_choices(result.inspection.store)),
        "can_inspect": True, "outcomes": Outcome,
    })


@login_required
@require_POST
def result_answer(request, pk):
    """Save one answer at once (htmx: the item's card comes back)."""
    result = _result_for(request, pk)
    form = AnswerForm(request.POST, staff=selectors.staff_choices(result.inspection.store))
    errors = []
    if form.is_valid():
        data = form.cleaned_data
        note = data["note"] if "note" in request.POST else None
        try:
            services.inspection_answer(result=result, actor=request.user, outcome=data["outcome"],
                                       note=note, responsible=data["responsible"])
        except ValidationError as error:
            errors = _messages_of(error)
    else:
        errors = [f"{form.fields[name].label}：{message}" for name, msgs in form.errors.items()
                  for message in msgs]
    if request.htmx:
        return _card(request, result, errors)
    for message in errors:
        messages.error(request, message)
    return redirect(reverse("inspections:inspection", args=[result.inspection_id]) + f"#item-{result.pk}")


@login_required
@require_POST
def result_photo(request, pk):
    """Upload a photo of a failure from the phone's camera."""
    result = _result_for(request, pk)
    form = PhotoForm(request.POST, request.FILES)
    errors = []
    if form.is_valid():
        try:
            services.result_add_photo(result=result, actor=request.user, upload=form.cleaned_data["photo"])
        except ValidationError as error:
            errors = _messages_of(error)
    else:
        errors = [m for msgs in form.errors.values() for m in msgs]
    if request.htmx:
        return _card(request, result, errors)
    for message in errors:
        messages.error(request, message)
    return redirect(reverse("inspections:inspection", args=[result.inspection_id]) + f"#item-{result.pk}")


@login_required
@require_POST
def inspection_complete(request, pk):
    inspection = get_object_or_404(selectors.inspections_for(request.user), pk=pk)
    try:
        services.inspection_complete(inspection=inspection, actor=request.user)
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
    else:
        messages.success(request, _("检查已完成。"))
    return redirect("inspections:inspection", pk=inspection.pk)


# Rectifications -----------------------------------------------------------------------------

@login_required
def my_rectifications(request):
    """What I have to fix, by when, with the after-photo upload right there."""
    rows = list(selectors.my_rectifications(request.user))
    return render(request, "inspections/my_rectifications.html", {
        "rectifications": rows, "now": timezone.now(), "fix_form": FixForm(),
    })


@login_required
@permission_required("inspections.view_rectification", raise_exception=True)
def rectification_list(request):
    """Rectifications of the user's stores still to be fixed or re-checked (or any
    status by filter)."""
    filters = validation.filter_page(RectificationFilter, request,
                                     selectors.rectifications_for(request.user))
    status = validation.filter_values(filters)["status"]
    qs = filters.qs if status else filters.qs.exclude(status=Rectification.Status.VERIFIED)
    page = Paginator(qs.order_by("due_at", "id"), 50).get_page(request.GET.get("page"))
    return render(request, "inspections/rectification_list.html", {
        "page": page, "status": status, "filters": filters,
        "statuses": Rectification.Status.choices, "now": timezone.now(),
    })


def _rectification_or_404(request, pk):
    return get_object_or_404(selectors.rectifications_for(request.user), pk=pk)


@login_required
def rectification_detail(request, pk):
    rectification = _rectification_or_404(request, pk)
    user = request.user
    return render(request, "inspections/rectification.html", {
        "r": rectification, "now": timezone.now(), "fix_form": FixForm(), "verify_form": VerifyForm(),
        "can_fix": rectification.status in (Rectification.Status.OPEN, Rectification.Status.OVERDUE)
        and (user.pk == rectification.responsible_id or user.has_perm("inspections.verify_rectification")),
        "can_verify": rectification.status == Rectification.Status.FIXED
        and user.has_perm("inspections.verify_rectification") and user.pk != rectification.responsible_id,
    })


@login_required
@require_POST
def rectification_fix(request, pk):
    """The responsible person uploads the after photo and reports the fix."""
    rectification = _rectification_or_404(request, pk)
    form = FixForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.rectification_fix(rectification=rectification, actor=request.user,
                                       note=form.cleaned_data["note"], upload=form.cleaned_data["photo"])
        except ValidationError as error:
            for message in _messages_of(error):
                messages.error(request, message)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("已提交整改，等待复查。"))
    else:
        for msgs in form.errors.values():
            for message in msgs:
                messages.error(request, message)
    return redirect(request.POST.get("next") if request.POST.get("next") == reverse(
        "inspections:my-rectifications") else reverse("inspections:rectification", args=[pk]))


@login_required
@permission_required("inspections.verify_rectification", raise_exception=True)
@require_POST
def rectification_verify(request, pk):
    """Re-check a reported fix on the spot."""
    rectification = _rectification_or_404(request, pk)
    form = VerifyForm(request.POST)
    if form.is_valid():
        try:
            services.rectification_verify(rectification=rectification, actor=request.user,
                                          passed=form.cleaned_data["passed"], note=form.cleaned_data["note"])
        except ValidationError as error:
            for message in _messages_of(error):
                messages.error(request, message)
        else:
            messages.success(request, _("复查结果已保存。"))
    return redirect("inspections:rectification", pk=pk)


# Manager ------------------------------------------------------------------------------------

@login_required
@permission_required("inspections.view_inspection_reports", raise_exception=True)
@reads_from_replica
def dashboard(request):
    """Pass rate per area, person and week; open and overdue rectifications; the
    gallery of failures; the daily trend per area."""
    stores = stores_of(request.user).order_by("code")
    form = ReportFilterForm(request.GET or None, stores=stores)
    end = timezone.localdate()
    start = end - timedelta(days=13)
    store = None
    if form.is_valid():
        store = form.cleaned_data["store"]
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
    if start > end:
        start, end = end, start
    data = selectors.report(request.user, start=start, end=end, store=store, today=timezone.localdate())
    rectifications = selectors.rectifications_for(request.user)
    if store is not None:
        rectifications = rectifications.filter(store=store)
    unresolved = list(rectifications.unresolved().order_by("due_at", "id")[:20])
    refused = form.is_bound and not form.is_valid()
    return render(request, "inspections/dashboard.html", {
        **data, "form": form, "start": start, "end": end, "now": timezone.now(),
        "unresolved": unresolved,
        "overdue_count": sum(1 for r in unresolved if r.status == Rectification.Status.OVERDUE),
        "photos": selectors.failure_photos(request.user, start=start, end=end, store=store),
    }, status=400 if refused else 200)


# Checklists ---------------------------------------------------------------------------------

@login_required
@permission_required("inspections.view_checklisttemplate", raise_exception=True)
def checklist_list(request):
    return render(request, "inspections/checklists.html", {
        "templates": selectors.checklists_for(request.user),
        "can_edit": request.user.has_perm("inspections.change_checklisttemplate"),
    })


@login_required
@permission_required("inspections.change_checklisttemplate", raise_exception=True)
def checklist_edit(request, pk):
    """Rename a checklist, name who fixes its failures by default, switch it off."""
    template = get_object_or_404(selectors.checklists_for(request.user), pk=pk)
    form = ChecklistForm(request.POST or None, staff=selectors.staff_choices(template.store), initial={
        "name": template.name, "responsible": template.responsible, "is_active": template.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            services.checklist_template_update(actor=request.user, template=template, **form.cleaned_data)
        except ValidationError as error:
            for field, msgs in error.message_dict.items():
                form.add_error(field if field in form.fields else None, msgs)
        else:
            messages.success(request, _("检查表已保存。"))
            return redirect("inspections:checklists")
    return render(request, "inspections/checklist_form.html", {"form": form, "template": template})


@login_required
@permission_required("inspections.change_checklisttemplate", raise_exception=True)
def checklist_item_edit(request, pk=None, template_pk=None):
    """Add or change a standard. A change never rewrites past rounds: the service
    retires an answered item and adds its successor."""
    item = None
    if pk is not None:
        item = get_object_or_404(ChecklistItem.objects.filter(
            template__in=selectors.checklists_for(request.user), is_active=True).select_related("template"),
            pk=pk)
        template = item.template
    else:
        template = get_object_or_404(selectors.checklists_for(request.user), pk=template_pk)
    form = ChecklistItemForm(request.POST or None, instance=item)
    if request.method == "POST" and "retire" in request.POST and item is not None:
        services.checklist_item_retire(actor=request.user, item=item)
        messages.success(request, _("检查项已停用。"))
        return redirect("inspections:checklists")
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if item is None:
                services.checklist_item_add(actor=request.user, template=template, **data)
            else:
                # form.instance was changed by validation; compare against the stored row.
                item.refresh_from_db()
                services.checklist_item_update(actor=request.user, item=item, **data)
        except ValidationError as error:
            for field, msgs in error.message_dict.items():
                form.add_error(field if field in form.fields else None, msgs)
        else:
            messages.success(request, _("检查表已更新为新版本，历史检查不受影响。"))
            return redirect("inspections:checklists")
    return render(request, "inspections/checklist_item_form.html", {
        "form": form, "item": item, "template": template,
    })


# Settings: check times and fix minutes -----------------------------------------------------

CHECK_TIMES = SettingsRows(
    title=_lazy("检查时间"),
    intro=_lazy("每个工作日按这些时间生成检查（展车默认 09:00 和 14:15）。停用而不删除。"),
    model=RoundRule, fields=services.ROUND_RULE_FIELDS, save=services.round_rule_save,
    url_name="inspections:check-times", store_field="template__store",
    related=("template",),
    label=lambda record: f"{record.template.name} {record.time_of_day:%H:%M}")
FIX_MINUTES = SettingsRows(
    title=_lazy("整改时限"),
    intro=_lazy("从通知起的整改分钟数（展车默认10分钟）；门店规则优先，区域留空即所有区域。"),
    model=DeadlinePolicy, fields=services.DEADLINE_FIELDS, save=services.deadline_policy_save,
    url_name="inspections:fix-minutes")


@login_required
@permission_required("inspections.change_roundrule", raise_exception=True)
def check_times(request):
    return CHECK_TIMES.view(request)


@login_required
@permission_required("inspections.change_deadlinepolicy", raise_exception=True)
def fix_minutes(request):
    return FIX_MINUTES.view(request)
