"""Pages of the team: monthly scorecards (managers see every team member of their
stores, everyone else only their own), training, one-to-one talks, the smile service
star vote and the incentive rules. Each page checks the permission of its record type,
as the API does (docs/access-matrix.csv)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from crm_site.forms import apply_errors
from crm_site.settings_pages import SettingsRows

from .. import rules as srules
from .. import selectors as sselectors
from ..models import IncentiveRule, StaffGreeting, TrainingAttendance, TrainingPlan
from ..views import _period, _store
from . import selectors, services
from .forms import FrequencyForm, IncentiveRuleForm, SessionForm, TalkForm, VoteForm

VIEW = "satisfaction.view_team"


def _context(request):
    stores = sselectors.stores_for(request.user)
    store = _store(request, stores)
    return stores, store, selectors.can_manage(request.user)


@login_required
@permission_required(VIEW, raise_exception=True)
def team(request):
    stores, store, manager = _context(request)
    period = _period(request)
    cards = selectors.scorecards(store, period, now=timezone.now(),
                                 staff_ids=None if manager else [request.user.pk])
    return render(request, "satisfaction/team/team.html", {
        "stores": stores, "store": store, "period": period, "cards": cards, "manager": manager,
        "previous": srules.add_months(period, -1), "next": srules.add_months(period, 1)})


@login_required
@permission_required(VIEW, raise_exception=True)
def team_member(request, pk):
    stores, store, manager = _context(request)
    if not manager and pk != request.user.pk:
        raise Http404
    person = get_object_or_404(selectors.staff_of(store), pk=pk)
    period = _period(request)
    cards = selectors.scorecards(store, period, now=timezone.now(), staff_ids=[person.pk])
    scores = TrainingAttendance.objects.filter(staff=person, session__store=store).select_related(
        "session", "session__plan").order_by("-session__held_on", "-id")[:20]
    talks = selectors.talks_for(request.user).filter(store=store, staff=person)[:12]
    return render(request, "satisfaction/team/member.html", {
        "store": store, "stores": stores, "person": person, "period": period,
        "card": cards[0] if cards else None, "scores": scores, "talks": talks, "manager": manager,
        "training_average": selectors.average_training_score(list(scores)),
        "minimum": selectors.policy_minutes(store.pk)})


# Training ------------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_trainingsession", raise_exception=True)
def training(request):
    stores, store, manager = _context(request)
    overview = selectors.training_overview(store, timezone.localdate())
    sessions = selectors.sessions_for(request.user).filter(store=store).order_by("-held_on", "-id")
    page = Paginator(sessions, 30).get_page(request.GET.get("page"))
    mine = selectors.attendance_for(request.user).filter(staff=request.user).order_by(
        "-session__held_on")[:10]
    return render(request, "satisfaction/team/training.html", {
        "stores": stores, "store": store, "overview": overview, "page": page, "manager": manager,
        "mine": mine, "frequency_form": FrequencyForm()})


def _session_form(request, store):
    plans = TrainingPlan.objects.filter(pk__in=[p.pk for p in selectors.plans_for_store(store)])
    return SessionForm(request.POST or None, plans=plans, staff=selectors.staff_of(store),
                       initial={"held_on": timezone.localdate()})


@login_required
@permission_required("satisfaction.add_trainingsession", raise_exception=True)
def training_create(request):
    stores, store, _manager = _context(request)
    form = _session_form(request, store)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.training_session_record(
                actor=request.user, store=store, plan=data["plan"], held_on=data["held_on"],
                topic=data["topic"], minutes=data["minutes"], notes=data["notes"],
                attendance=form.attendance())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("培训已记录。"))
            return redirect("satisfaction:team-training-detail", session.pk)
    return render(request, "satisfaction/team/training_form.html", {
        "form": form, "store": store, "stores": stores})


@login_required
@permission_required("satisfaction.view_trainingsession", raise_exception=True)
def training_detail(request, pk):
    session = get_object_or_404(selectors.sessions_for(request.user), pk=pk)
    rows = selectors.attendance_for(request.user).filter(session=session).order_by(
        "staff__last_name", "staff__first_name")
    return render(request, "satisfaction/team/training_detail.html", {"session": session, "rows": rows})


@login_required
@require_POST
@permission_required("satisfaction.change_trainingplan", raise_exception=True)
def training_plan_update(request, pk):
    stores = sselectors.stores_for(request.user)
    plan = get_object_or_404(TrainingPlan.objects.filter(Q(store__isnull=True) | Q(store__in=stores)), pk=pk)
    form = FrequencyForm(request.POST)
    if form.is_valid():
        try:
            services.training_plan_update(actor=request.user, plan=plan,
                                          frequency=form.cleaned_data["frequency"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("培训频次已保存。"))
    else:
        messages.error(request, _("频次：请选择每周或每月。"))
    return redirect("satisfaction:team-training")


# One-to-one talks --------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_onetoonetalk", raise_exception=True)
def talks(request):
    stores, store, manager = _context(request)
    period = timezone.localdate().replace(day=1)
    form = None
    if manager:
        members = selectors.staff_of(store).exclude(pk=request.user.pk)
        form = TalkForm(request.POST or None, members=members,
                        initial={"held_on": timezone.localdate(), "minutes": 30})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                talk = services.one_to_one_talk_record(
                    actor=request.user, store=store, staff=data["staff"], held_on=data["held_on"],
                    minutes=data["minutes"], notes=data["notes"])
            except ValidationError as error:
                apply_errors(form, error)
            else:
                minimum = selectors.policy_minutes(store.pk)
                if talk.minutes < minimum:
                    messages.warning(request, _("面谈已记录，但不足%(minutes)s分钟。") % {"minutes": minimum})
                else:
                    messages.success(request, _("面谈已记录。"))
                return redirect(f"{request.path}?store={store.pk}")
    elif request.method == "POST":
        raise PermissionDenied
    overview = selectors.talk_overview(store, period) if manager else []
    recent = selectors.talks_for(request.user).filter(store=store).order_by("-held_on", "-id")[:50]
    return render(request, "satisfaction/team/talks.html", {
        "stores": stores, "store": store, "period": period, "form": form, "overview": overview,
        "recent": recent, "manager": manager, "minimum": selectors.policy_minutes(store.pk)})


# The smile service star ------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_smilevote", raise_exception=True)
def vote(request):
    if request.method == "POST" and not request.user.has_perm("satisfaction.add_smilevote"):
        raise PermissionDenied
    stores, store, manager = _context(request)
    now = timezone.now()
    period = srules.period_of(now, store.time_zone)
    mine = selectors.my_vote(store, period, request.user)
    form = None
    if request.user.has_perm("satisfaction.add_smilevote") and mine is None:
        candidates = selectors.staff_of(store).exclude(pk=request.user.pk)
        form = VoteForm(request.POST or None, candidates=candidates)
        if request.method == "POST" and form.is_valid():
            try:
                services.smile_vote_cast(actor=request.user, store=store,
                                         nominee=form.cleaned_data["nominee"],
                                         reason=form.cleaned_data["reason"], now=now)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("投票成功，谢谢！"))
                return redirect(f"{request.path}?store={store.pk}")
    elif request.method == "POST":
        messages.error(request, _("本月您已经投过票了。"))
        return redirect(f"{request.path}?store={store.pk}")
    past = srules.months_back(srules.add_months(period, -1), 6)[::-1]
    current, *results = selectors.vote_results(store, [period, *past])
    return render(request, "satisfaction/team/vote.html", {
        "stores": stores, "store": store, "period": period, "form": form, "mine": mine,
        "current": current, "results": results, "manager": manager})


# Incentive rules -------------------------------------------------------------------------------

@login_required
@permission_required("satisfaction.view_incentiverule", raise_exception=True)
def incentives(request):
    stores, store, manager = _context(request)
    form = IncentiveRuleForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("satisfaction.change_incentiverule"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.incentive_rule_set(actor=request.user, store=store, **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("奖惩规则已保存。"))
                return redirect(f"{request.path}?store={store.pk}")
    in_force = selectors.incentive_rules(store.pk)
    rows = IncentiveRule.objects.filter(Q(store=store) | Q(store__isnull=True)).select_related("store")
    return render(request, "satisfaction/team/incentives.html", {
        "stores": stores, "store": store, "form": form, "rows": rows,
        "in_force": [in_force[k] for k in IncentiveRule.Kind.values if k in in_force],
        "manager": manager})



# Settings: greetings to staff ------------------------------------------------------------

GREETINGS = SettingsRows(
    title=_lazy("员工关怀短信"),
    intro=_lazy("发给员工的生日、固定日期和节日问候；门店留空为集团默认，{name} 换成姓名。"),
    model=StaffGreeting, fields=services.GREETING_FIELDS, save=services.staff_greeting_save,
    url_name="satisfaction:greeting-settings", label=lambda record: record.name)


@login_required
@permission_required("satisfaction.change_staffgreeting", raise_exception=True)
def greeting_settings(request):
    return GREETINGS.view(request)
