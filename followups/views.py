"""Pages of the follow-ups floor: the caller's worklist (home of callers), the manager's
plan, workload, reassignment and funnel, programme editing, campaigns and classes."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site import validation
from crm_site.forms import apply_errors
from crm_site.redirects import next_url
from crm_site.scoping import for_user, stores_of
from customers.models import Customer

from . import selectors, services
from .filters import AppointmentFilter, TaskFilter
from .forms import (
    CampaignForm,
    CareClassForm,
    ClubActivityForm,
    ClubJoinForm,
    LoungeArriveForm,
    LoungePreferenceForm,
    ProgrammeCreateForm,
    ProgrammeForm,
    QuestionFormSet,
    SettingsForm,
    StepCreateForm,
    StepForm,
)
from .models import (
    Appointment,
    Campaign,
    CareClass,
    ClassInvitation,
    ClubMember,
    FollowupSettings,
    LoungeVisit,
    Outcome,
    Programme,
    SatisfactionAnswer,
    Step,
    Task,
)


def _day(request, name="day"):
    return validation.query_date(request.GET, name, timezone.localdate())


def _outcome_context():
    return {"outcomes": selectors.outcome_choices(), "reasons": selectors.refusal_reasons(),
            "ratings": SatisfactionAnswer.Rating.choices}


# The most urgent calls a caller sees at once; the rest follow on the next load.
WORKLIST_CARDS = 50


@login_required
@permission_required("followups.record_outcome", raise_exception=True)
def worklist(request):
    """Today's and overdue calls of the signed-in caller, most urgent first."""
    today = timezone.localdate()
    tasks = list(selectors.worklist(request.user, today)[:WORKLIST_CARDS + 1])
    return render(request, "followups/worklist.html", {
        "tasks": tasks[:WORKLIST_CARDS], "more": len(tasks) > WORKLIST_CARDS,
        "cards": WORKLIST_CARDS, "today": today,
        "progress": selectors.worklist_progress(request.user, today),
        **_outcome_context(),
    })


@login_required
@permission_required("followups.view_task", raise_exception=True)
def task_detail(request, pk):
    task = get_object_or_404(
        selectors.tasks_for(request.user).select_related(
            "customer", "vehicle", "step", "programme", "assignee", "outcome", "reason"), pk=pk)
    attempts = task.call_attempts.select_related("caller", "outcome")
    answers = task.answers.select_related("question")
    return render(request, "followups/task_detail.html", {
        "task": task, "attempts": attempts, "answers": answers})


def _answers_from(request, task):
    answers = []
    for question in task.programme.questions.filter(is_active=True):
        rating = request.POST.get(f"q_{question.pk}")
        if rating:
            answers.append({"question": question.pk, "rating": rating,
                            "reason": request.POST.get(f"qr_{question.pk}", "")})
    return answers


@login_required
@permission_required("followups.record_outcome", raise_exception=True)
@require_POST
def task_outcome(request, pk):
    """One-click outcome from the worklist; answers with the card re-rendered in place
    (htmx) and the progress bar updated out of band."""
    task = get_object_or_404(selectors.tasks_for(request.user).select_related("programme"), pk=pk)
    outcome = Outcome.objects.filter(code=request.POST.get("outcome"), is_active=True).first()
    errors = None
    appointment_on = None
    try:
        appointment_on = validation.query_date(request.POST, "appointment_on", None)
    except ValidationError as error:
        errors = error.message_dict
    if errors is None:
        try:
            task = services.task_record_outcome(
                task=task, actor=request.user, outcome=outcome,
                reason=request.POST.get("reason") or None, notes=request.POST.get("notes", ""),
                appointment_on=appointment_on,
                appointment_purpose=request.POST.get("appointment_purpose", ""),
                answers=_answers_from(request, task), problem=request.POST.get("problem", ""))
        except ValidationError as error:
            errors = error.message_dict
        except PermissionDenied as error:
            errors = {"task": [str(error)]}
    if not request.htmx:
        if errors:
            for field_errors in errors.values():
                for message in field_errors:
                    messages.error(request, message)
        return redirect("followups:worklist")
    task = selectors.worklist(request.user, timezone.localdate(), assignee=task.assignee_id) \
        .filter(pk=task.pk).first() or Task.objects.select_related(
            "customer", "vehicle", "step", "programme", "outcome", "reason").get(pk=task.pk)
    return render(request, "followups/partials/task_card.html", {
        "task": task, "errors": errors, "updated": errors is None, "today": timezone.localdate(),
        "progress": selectors.worklist_progress(request.user, timezone.localdate()),
        "oob_progress": True, **_outcome_context(),
    })


@login_required
@permission_required("followups.reassign_task", raise_exception=True)
def plan(request):
    """The day's plan per programme, workload per caller and bulk reassignment."""
    day = _day(request)
    filters = validation.filter_page(TaskFilter, request, selectors.open_calls(request.user, day))
    last_run = selectors.last_planner_run()
    return render(request, "followups/plan.html", {
        "day": day, "plan_rows": selectors.day_plan(request.user, day),
        "last_run": last_run,
        "planner_late": last_run is None or last_run.day < timezone.localdate(),
        "workload": selectors.workload(request.user, day),
        "calls": selectors.open_calls_page(filters.qs), "filters": filters,
        "callers": selectors.callers(request.user),
        "assignee": validation.filter_values(filters)["assignee"],
        "programmes": Programme.objects.filter(is_active=True),
    })


@login_required
@permission_required("followups.reassign_task", raise_exception=True)
@require_POST
def reassign(request):
    ids = [int(pk) for pk in request.POST.getlist("task") if pk.isdigit()]
    target = validation.query_int(request.POST, "assignee")
    assignee = None
    if target is not None:
        assignee = get_object_or_404(selectors.callers(request.user), pk=target)
    try:
        count = services.tasks_reassign(actor=request.user, task_ids=ids, assignee=assignee)
    except ValidationError as error:
        for field_errors in error.message_dict.values():
            for message in field_errors:
                messages.error(request, message)
    else:
        messages.success(request, _("已分派 %(n)s 个任务。") % {"n": count})
    return redirect(next_url(request, "followups:plan"))


@login_required
@permission_required("followups.view_task", raise_exception=True)
def funnel(request):
    today = timezone.localdate()
    start, end = validation.query_date_range(request.GET, today - timedelta(days=30), today)
    programme = validation.filter_values(validation.filter_page(
        TaskFilter, request, Task.objects.none()))["programme"] or None
    rows = selectors.funnel(request.user, start, end, programme=programme)
    return render(request, "followups/funnel.html", {
        "rows": rows, "start": start, "end": end, "programme": programme,
        "programmes": Programme.objects.all(),
        "reasons": selectors.refusal_breakdown(request.user, start, end),
    })


@login_required
@permission_required("followups.view_programme", raise_exception=True)
def programme_list(request):
    return render(request, "followups/programme_list.html", {
        "programmes": selectors.programmes(), "settings": FollowupSettings.current(),
        "can_edit": request.user.has_perm("followups.change_programme")})


@login_required
@permission_required("followups.change_programme", raise_exception=True)
def programme_edit(request, pk):
    programme = get_object_or_404(Programme, pk=pk)
    form = ProgrammeForm(request.POST or None, instance=programme, prefix="p")
    questions = QuestionFormSet(request.POST or None, instance=programme, prefix="q")
    if request.method == "POST" and form.is_valid() and questions.is_valid():
        rows = [{**{name: row[name] for name in services.QUESTION_FIELDS},
                 **({"id": row["id"].pk} if row.get("id") else {})}
                for row in questions.cleaned_data if row and row.get("code")]
        try:
            services.programme_update(actor=request.user, programme=programme, questions=rows,
                                      **{name: form.cleaned_data[name] for name in form.Meta.fields})
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("方案已保存。"))
            return redirect("followups:programmes")
    return render(request, "followups/programme_form.html", {
        "form": form, "questions": questions, "programme": programme,
        "steps": programme.steps.order_by("order", "offset_days")})


@login_required
@permission_required("followups.change_step", raise_exception=True)
def step_edit(request, pk):
    step = get_object_or_404(Step.objects.select_related("programme"), pk=pk)
    form = StepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        try:
            services.step_update(actor=request.user, step=step,
                                 **{name: form.cleaned_data[name] for name in form.Meta.fields})
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("步骤已保存。"))
            return redirect("followups:programme", pk=step.programme_id)
    return render(request, "followups/step_form.html", {"form": form, "step": step,
                                                        "programme": step.programme})




@login_required
@permission_required("followups.add_programme", raise_exception=True)
def programme_create(request):
    form = ProgrammeCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.programme_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("方案已创建，请添加步骤。"))
            return redirect("followups:programme", pk=programme.pk)
    return render(request, "followups/programme_create.html", {"form": form})


@login_required
@permission_required("followups.add_step", raise_exception=True)
def step_create(request, pk):
    programme = get_object_or_404(Programme, pk=pk)
    form = StepCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.step_add(actor=request.user, programme=programme, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("步骤已添加。"))
            return redirect("followups:programme", pk=programme.pk)
    return render(request, "followups/step_form.html", {"form": form, "programme": programme})


@login_required
@permission_required("followups.change_step", raise_exception=True)
@require_POST
def step_remove(request, pk):
    step = get_object_or_404(Step, pk=pk)
    result = services.step_remove(actor=request.user, step=step)
    messages.success(request, _("步骤已停用（已有任务引用）。") if result == "deactivated"
                     else _("步骤已删除。"))
    return redirect("followups:programme", pk=step.programme_id)


@login_required
@permission_required("followups.change_followupsettings", raise_exception=True)
def settings_edit(request):
    form = SettingsForm(request.POST or None, instance=FollowupSettings.current())
    if request.method == "POST" and form.is_valid():
        try:
            services.followup_settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("设置已保存。"))
            return redirect("followups:programmes")
    return render(request, "followups/settings_form.html", {"form": form})


@login_required
@permission_required("followups.view_campaign", raise_exception=True)
def campaign_list(request):
    campaigns = (for_user(Campaign.objects.all(), request.user).select_related("store")
                 .annotate(n_members=Count("members", distinct=True),
                           n_back=Count("members", filter=Q(members__came_in_on__isnull=False),
                                        distinct=True)))
    classes = (for_user(CareClass.objects.filter(kind=CareClass.Kind.CARE_CLASS), request.user)
               .select_related("store")
               .annotate(n_invited=Count("invitations"),
                         n_accepted=Count("invitations", filter=Q(invitations__reply="accepted")),
                         n_attended=Count("invitations", filter=Q(invitations__attended=True))))
    return render(request, "followups/campaign_list.html", {
        "campaigns": campaigns[:100], "classes": classes[:100]})


@login_required
@permission_required("followups.add_campaign", raise_exception=True)
def campaign_create(request):
    form = CampaignForm(request.POST or None, stores=stores_of(request.user),
                        initial={"lapsed_days": FollowupSettings.current().lapsed_after_days})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("followups:campaign", pk=campaign.pk)
    return render(request, "followups/form.html", {"form": form, "title": _("新建召回活动")})


@login_required
@permission_required("followups.view_campaign", raise_exception=True)
def campaign_detail(request, pk):
    campaign = get_object_or_404(for_user(Campaign.objects.select_related("store"), request.user),
                                 pk=pk)
    if request.method == "POST" and not request.user.has_perm("followups.change_campaign"):
        raise PermissionDenied
    if request.method == "POST":
        drawn = services.campaign_draw(campaign=campaign)
        messages.success(request, _("已抽取 %(n)s 辆车。") % {"n": drawn})
        return redirect("followups:campaign", pk=pk)
    members = Paginator(campaign.members.select_related("vehicle", "customer").order_by("id"),
                        100).get_page(request.GET.get("page"))
    return render(request, "followups/campaign_detail.html", {
        "campaign": campaign, "page": members,
        "funnel": selectors.funnel(request.user, campaign.date - timedelta(days=60), campaign.date,
                                   programme=campaign.programme.code)})


@login_required
@permission_required("followups.add_careclass", raise_exception=True)
def care_class_create(request):
    form = CareClassForm(request.POST or None, stores=stores_of(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            care_class = services.care_class_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("followups:class", pk=care_class.pk)
    return render(request, "followups/form.html", {"form": form, "title": _("新建养护课堂")})


@login_required
@permission_required("followups.view_careclass", raise_exception=True)
def care_class_detail(request, pk):
    care_class = get_object_or_404(for_user(CareClass.objects.select_related("store"),
                                            request.user), pk=pk)
    if request.method == "POST" and "sign_up" in request.POST:
        if not request.user.has_perm("followups.change_classinvitation"):
            raise PermissionDenied
        _sign_up(request, care_class)
        return redirect("followups:class", pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("followups.add_classinvitation"):
            raise PermissionDenied
        mobiles = [m.strip() for m in request.POST.get("mobiles", "").split() if m.strip()]
        customers = list(Customer.objects.filter(store=care_class.store, mobile__in=mobiles,
                                                 is_active=True))
        added = services.care_class_invite(actor=request.user, care_class=care_class,
                                           customers=customers)
        messages.success(request, _("已邀请 %(n)s 位客户。") % {"n": added})
        return redirect("followups:class", pk=pk)
    invitations = care_class.invitations.select_related("customer").order_by("id")
    accepted = sum(1 for i in invitations if i.reply == ClassInvitation.Reply.ACCEPTED)
    return render(request, "followups/class_detail.html", {
        "care_class": care_class, "invitations": invitations, "accepted": accepted,
        "replies": ClassInvitation.Reply.choices, "ratings": range(5, 0, -1)})


def _sign_up(request, care_class):
    """Sign a customer of the event's store up by mobile or plate (the quick find)."""
    found = [c for c in selectors.lounge_find(request.user, request.POST.get("sign_up", ""))
             if c.store_id == care_class.store_id]
    if len(found) != 1:
        messages.error(request, _("请输入能唯一确定客户的完整手机号或车牌。") if found
                       else _("没有找到该客户。"))
        return
    try:
        services.club_activity_sign_up(actor=request.user, activity=care_class, customer=found[0])
    except ValidationError as error:
        for field_errors in error.message_dict.values():
            for message in field_errors:
                messages.error(request, message)
    else:
        messages.success(request, _("%(name)s已报名。") % {"name": found[0].name})


@login_required
@permission_required("followups.change_classinvitation", raise_exception=True)
@require_POST
def invitation_update(request, pk):
    invitation = get_object_or_404(
        for_user(ClassInvitation.objects.select_related("care_class", "customer"), request.user,
                 "care_class__store"), pk=pk)
    try:
        if "reply" in request.POST:
            invitation = services.invitation_reply(actor=request.user, invitation=invitation,
                                                   reply=request.POST["reply"])
        if "attended" in request.POST:
            services.invitation_attendance(actor=request.user, invitation=invitation,
                                           attended=request.POST["attended"] == "1")
        if "feedback_rating" in request.POST:
            services.invitation_feedback(actor=request.user, invitation=invitation,
                                         rating=request.POST["feedback_rating"],
                                         text=request.POST.get("feedback", ""))
    except ValidationError as error:
        for field_errors in error.message_dict.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("followups:class", pk=invitation.care_class_id)


@login_required
@permission_required("followups.view_appointment", raise_exception=True)
def appointment_list(request):
    filters = validation.filter_page(AppointmentFilter, request, selectors.appointments(
        request.user).order_by("-booked_for", "-id"))
    page = Paginator(filters.qs, 50).get_page(request.GET.get("page"))
    return render(request, "followups/appointment_list.html", {
        "page": page, "filters": filters, "status": validation.filter_values(filters)["status"],
        "statuses": Appointment.Status.choices})


# The lounge (吧台): the attendant's tablet screen --------------------------------------------

def _picked_customer(request):
    pk = request.GET.get("customer") or request.POST.get("customer")
    if not (pk and str(pk).isdigit()):
        return None
    return get_object_or_404(
        for_user(Customer.objects.filter(is_active=True), request.user)
        .select_related("lounge_preference"), pk=pk)


def _lounge_panel(request, *, form=None, picked=None, errors=None, status=200):
    """The form and today's board; the page and every htmx answer render this."""
    today = timezone.localdate()
    stores = stores_of(request.user)
    if form is None:
        preference = getattr(picked, "lounge_preference", None) if picked else None
        form = LoungeArriveForm(stores=stores, initial={
            "store": picked.store_id if picked else stores.first(),
            "customer": picked.pk if picked else None,
            "drink": getattr(preference, "drink", ""),
            "newspaper": getattr(preference, "newspaper", ""),
            "interests": getattr(preference, "interests", "")})
    template = ("followups/partials/lounge_panel.html" if request.htmx
                else "followups/lounge.html")
    return render(request, template, {
        "form": form, "picked": picked, "errors": errors, "today": today,
        "now": timezone.now(), "board": selectors.lounge_board(request.user, today),
        "purposes": LoungeVisit.Purpose.choices,
    }, status=status)


@login_required
@permission_required("followups.view_loungevisit", raise_exception=True)
def lounge(request):
    """The lounge attendant's screen (home of the role): who is waiting, who came today,
    and the visitor log form with quick find; everything changes in place."""
    return _lounge_panel(request, picked=_picked_customer(request))


@login_required
@permission_required("followups.view_loungevisit", raise_exception=True)
def lounge_find(request):
    """Quick find by plate or mobile: a short list to pick from."""
    return render(request, "followups/partials/lounge_found.html", {
        "found": selectors.lounge_find(request.user, request.GET.get("q", "")),
        "q": request.GET.get("q", "")})


def _lounge_errors(request, errors):
    if not request.htmx:
        for field_errors in errors.values():
            for message in field_errors:
                messages.error(request, message)
        return redirect("followups:lounge")
    return None


@login_required
@permission_required("followups.add_loungevisit", raise_exception=True)
@require_POST
def lounge_arrive(request):
    form = LoungeArriveForm(request.POST, stores=stores_of(request.user))
    picked = None
    errors = None
    if form.is_valid():
        data = form.cleaned_data
        picked = _picked_customer(request) if data.get("customer") else None
        try:
            services.lounge_visit_arrive(
                actor=request.user, store=data["store"], purpose=data["purpose"],
                customer=picked, name=data["name"], mobile=data["mobile"],
                drink=data["drink"], newspaper=data["newspaper"], interests=data["interests"],
                notes=data["notes"])
        except ValidationError as error:
            errors = error.message_dict
            for field, field_errors in errors.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            if not request.htmx:
                messages.success(request, _("已登记来访。"))
                return redirect("followups:lounge")
            return _lounge_panel(request)
    else:
        errors = form.errors
    return _lounge_errors(request, errors) or _lounge_panel(request, form=form, picked=picked,
                                                             errors=errors)


def _lounge_visit(request, pk):
    return get_object_or_404(for_user(LoungeVisit.objects.select_related("customer"),
                                      request.user), pk=pk)


@login_required
@permission_required("followups.change_loungevisit", raise_exception=True)
@require_POST
def lounge_depart(request, pk):
    visit = _lounge_visit(request, pk)
    try:
        services.lounge_visit_depart(actor=request.user, visit=visit)
    except ValidationError as error:
        return _lounge_errors(request, error.message_dict) or \
            _lounge_panel(request, errors=error.message_dict)
    return redirect("followups:lounge") if not request.htmx else _lounge_panel(request)


@login_required
@permission_required("followups.change_loungepreference", raise_exception=True)
@require_POST
def lounge_preference(request, pk):
    visit = _lounge_visit(request, pk)
    form = LoungePreferenceForm(request.POST)
    errors = form.errors if not form.is_valid() else None
    if errors is None:
        try:
            services.lounge_preference_record(actor=request.user, customer=visit.customer,
                                              visit=visit, **form.cleaned_data)
        except ValidationError as error:
            errors = error.message_dict
    if errors:
        return _lounge_errors(request, errors) or _lounge_panel(request, errors=errors)
    return redirect("followups:lounge") if not request.htmx else _lounge_panel(request)


# The owners' club (车友会) ---------------------------------------------------------------------

@login_required
@permission_required("followups.view_clubmember", raise_exception=True)
def club(request):
    """The CR director's club page: members, new members per month, attendance of the
    activities and the return-visit rate of members against other owners."""
    today, now = timezone.localdate(), timezone.now()
    kpis = selectors.club_kpis(request.user, today, now)
    peak = max([row["n"] for row in kpis["new_per_month"]] + [1])
    upcoming = selectors.club_activities(request.user).filter(starts_at__gt=now)
    members = Paginator(selectors.club_members(request.user).filter(left_on__isnull=True)
                        .order_by("-joined_on", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "followups/club.html", {
        "kpis": kpis, "peak": peak, "upcoming": list(upcoming[:50]), "page": members,
        "today": today})


@login_required
@permission_required("followups.add_clubmember", raise_exception=True)
def club_join(request):
    """Enrol a customer (from the customer page's action) in the owners' club."""
    customer = _picked_customer(request)
    if customer is None:
        messages.error(request, _("请从客户页面选择要入会的客户。"))
        return redirect("followups:club")
    form = ClubJoinForm(request.POST or None, initial={
        "joined_on": timezone.localdate(), "source": ClubMember.Source.DELIVERY})
    if request.method == "POST" and form.is_valid():
        try:
            services.club_member_join(actor=request.user, customer=customer,
                                      **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("%(name)s已加入车友会。") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "followups/club_join.html", {"form": form, "customer": customer})


@login_required
@permission_required("followups.change_clubmember", raise_exception=True)
@require_POST
def club_member_leave(request, pk):
    member = get_object_or_404(selectors.club_members(request.user), pk=pk)
    try:
        services.club_member_leave(actor=request.user, member=member,
                                   reason=request.POST.get("reason", ""))
    except ValidationError as error:
        for field_errors in error.message_dict.values():
            for message in field_errors:
                messages.error(request, message)
    else:
        messages.success(request, _("%(name)s已退会。") % {"name": member.customer.name})
    return redirect("followups:club")


@login_required
@permission_required("followups.add_careclass", raise_exception=True)
def club_activity_create(request):
    form = ClubActivityForm(request.POST or None, stores=stores_of(request.user),
                            initial={"kind": CareClass.Kind.DRIVE})
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.care_class_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("followups:class", pk=activity.pk)
    return render(request, "followups/form.html", {"form": form, "title": _("新建车友会活动")})
