"""Pages of the complaints app: the board, the complaint page with its next action, the
quick log and the reports."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site import validation
from crm_site.forms import apply_errors
from crm_site.models import User
from crm_site.replica import reads_from_replica
from crm_site.scoping import for_user, stores_of

from . import rules, selectors, services
from .filters import ComplaintFilter
from .forms import ACTION_FORMS, AttachmentForm, ComplaintLogForm, SlaPolicyForm, action_form
from .models import SLA_POLICY_FIELDS, Complaint, Severity

ACTION_PERMISSIONS = {"department_feedback": "complaints.record_department_feedback"}
DEFAULT_ACTION_PERMISSION = "complaints.change_complaint"




# Board ------------------------------------------------------------------------------------

def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CappedPaginator(Paginator):
    """Counts at most BOARD_CAP rows (a LIMITed subquery on the board index): with a
    hundred thousand open complaints an exact count would cost more than the page."""

    cap = 1000

    @cached_property
    def count(self):
        return self.object_list[:self.cap + 1].count()

    @property
    def capped(self):
        return self.count > self.cap


class BoardLabels:
    """The translated labels of the board's choice fields, looked up once per request
    (get_FOO_display() on lazy labels costs a translation per row and field)."""

    _cache = {}

    def __init__(self):
        from django.utils.translation import get_language

        language = get_language()
        if language not in self._cache:
            self._cache[language] = {
                name: {value: str(label) for value, label in choices}
                for name, choices in (("category", Complaint.Category.choices),
                                      ("status", Complaint.Status.choices),
                                      ("department", Complaint.Department.choices))
            }
        self.maps = self._cache[language]

    def __call__(self, name, value):
        return self.maps[name].get(value, "")


def _iso(moment):
    return timezone.localtime(moment).isoformat() if moment else ""


def _board_row(complaint, now, *, labels):
    clock, window = complaint.current_window()
    return {
        "id": complaint.pk, "customer": complaint.customer.name,
        "plate": complaint.vehicle.plate if complaint.vehicle else "",
        "store": complaint.store.name, "is_repeat": complaint.is_repeat,
        "important": complaint.severity == "important", "reasons": complaint.important_reasons,
        "category": labels("category", complaint.category),
        "status": labels("status", complaint.status), "round": complaint.round,
        "department": labels("department", complaint.department),
        "owner": str(complaint.owner), "clock": clock,
        "due": _iso(window.due_at) if window else "", "warn": _iso(window.warn_at) if window else "",
        "due_text": timezone.localtime(window.due_at).strftime("%m-%d %H:%M:%S") if window else "",
        "paused": _iso(complaint.paused_at) if clock == "resolution" else "",
        "state": complaint.sla_state(now),
        "clock_state": complaint.clock_states(now).get(clock) if clock else None,
    }


def _chosen(filters, *, mine, user):
    """The board's filter values as its selects compare them (ids, codes)."""
    values = validation.filter_values(filters)
    chosen = {name: getattr(value, "pk", value) for name, value in values.items()}
    if mine:
        chosen["owner"] = user.pk
    return chosen


@login_required
@permission_required("complaints.view_complaint", raise_exception=True)
def board(request, mine=False):
    """Open complaints with live countdowns coloured by SLA state."""
    now = timezone.now()
    params = request.GET
    queryset = selectors.board_complaints(request.user)
    if mine:
        queryset = queryset.filter(owner=request.user)
    filters = validation.filter_page(ComplaintFilter, request, queryset)
    complaints = selectors.board(filters.qs)
    page = CappedPaginator(complaints, 100).get_page(params.get("page"))
    rows = [_board_row(complaint, now, labels=BoardLabels())
            for complaint in selectors.board_rows(page.object_list)]
    stores = list(stores_of(request.user).order_by("code"))
    owners = list(User.objects.filter(is_active=True, stores__in=[s.pk for s in stores])
                  .distinct().order_by("username"))
    return render(request, "complaints/board.html", {
        "page": page, "rows": rows, "now": now, "mine": mine,
        "detail_base": reverse("complaints:board"),
        "stores": stores, "owners": owners, "states": selectors.BOARD_STATES,
        "departments": Complaint.Department.choices, "severities": Severity.choices,
        "filters": filters, "chosen": _chosen(filters, mine=mine, user=request.user),
    })


# Complaint page ---------------------------------------------------------------------------

def _detail_context(request, complaint, forms=None):
    now = timezone.now()
    forms = forms or {}
    actions = []
    extra = ["classify"] if complaint.status != Complaint.Status.CLOSED else []
    for action in [*complaint.allowed_actions(), *extra]:
        perm = ACTION_PERMISSIONS.get(action, DEFAULT_ACTION_PERMISSION)
        if not request.user.has_perm(perm):
            continue
        actions.append({"name": action, "label": ACTION_FORMS[action][1],
                        "form": forms.get(action) or action_form(action, complaint),
                        "open": action in forms})
    clock, window = complaint.current_window()
    events = selectors.timeline(complaint)
    opened = next((e for e in events if e.kind == "opened"), None)
    suggested = [r for r in (opened.data.get("suggested_reasons", []) if opened else [])
                 if r not in complaint.important_reasons]
    return {
        "complaint": complaint, "events": events, "actions": actions,
        "next_action": actions[0] if actions and actions[0]["name"] == complaint.next_action()
        else None,
        "other_actions": [a for a in actions if a["name"] != complaint.next_action()],
        "clock": clock, "window": window, "now": now, "state": complaint.sla_state(now),
        "clock_states": complaint.clock_states(now), "suggested_reasons": suggested,
        "attachment_form": AttachmentForm(),
    }


@login_required
@permission_required("complaints.view_complaint", raise_exception=True)
def detail(request, pk):
    complaint = selectors.complaint_detail(request.user, pk)
    return render(request, "complaints/detail.html", _detail_context(request, complaint))


SERVICE_CALLS = {
    "respond": lambda c, u, d: services.complaint_respond(
        actor=u, complaint=c, channel=d["channel"], note=d["note"],
        contacted_at=d.get("contacted_at")),
    "hand_off": lambda c, u, d: services.complaint_hand_off(
        actor=u, complaint=c, department=d["department"],
        department_manager=d.get("department_manager"), note=d.get("note", "")),
    "department_feedback": lambda c, u, d: services.complaint_record_department_feedback(
        actor=u, complaint=c, feedback=d["feedback"], root_cause=d.get("root_cause", ""),
        corrective_action=d.get("corrective_action", "")),
    "resolve": lambda c, u, d: services.complaint_resolve(
        actor=u, complaint=c, resolution=d["resolution"], root_cause=d.get("root_cause", ""),
        corrective_action=d.get("corrective_action", "")),
    "callback": lambda c, u, d: services.complaint_record_callback(
        actor=u, complaint=c, satisfied=d["satisfied"], note=d["note"]),
    "reissue": lambda c, u, d: services.complaint_reissue(
        actor=u, complaint=c, note=d["note"], department=d.get("department") or None),
    "pause": lambda c, u, d: services.complaint_pause(actor=u, complaint=c, reason=d["reason"]),
    "resume": lambda c, u, d: services.complaint_resume(actor=u, complaint=c,
                                                        note=d.get("note", "")),
    "classify": lambda c, u, d: services.complaint_classify(
        actor=u, complaint=c, severity=d["severity"], category=d["category"],
        important_reasons=d.get("important_reasons") or [], note=d.get("note", "")),
}


@login_required
@require_POST
def act(request, pk, action):
    """Run one action from the complaint page; htmx swaps the action panel in place."""
    if action not in SERVICE_CALLS:
        raise Http404
    complaint = selectors.complaint_detail(request.user, pk)
    if not request.user.has_perm(ACTION_PERMISSIONS.get(action, DEFAULT_ACTION_PERMISSION)):
        raise PermissionDenied
    form = action_form(action, complaint, request.POST)
    status = 200
    if form.is_valid():
        try:
            SERVICE_CALLS[action](complaint, request.user, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as error:  # e.g. lowering an important complaint
            form.add_error(None, str(error))
            status = 403
        else:
            messages.success(request, _("已保存：%(action)s") % {"action": ACTION_FORMS[action][1]})
            url = reverse("complaints:detail", args=[pk])
            if request.htmx:
                # The timeline and the details change too: reload the whole page.
                return HttpResponse(headers={"HX-Redirect": url})
            return redirect(url)
    template = "complaints/partials/panel.html" if request.htmx else "complaints/detail.html"
    return render(request, template, _detail_context(request, complaint, {action: form}),
                  status=status)


@login_required
@require_POST
@permission_required("complaints.add_complaintattachment", raise_exception=True)
def attach(request, pk):
    complaint = selectors.complaint_detail(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.complaint_attach(actor=request.user, complaint=complaint,
                                      upload=form.cleaned_data["file"])
        except ValidationError as error:
            for message in error.message_dict.get("file", error.messages):
                messages.error(request, message)
        else:
            messages.success(request, _("附件已上传。"))
    else:
        messages.error(request, _("请选择要上传的文件。"))
    return redirect("complaints:detail", pk=pk)


# Quick log --------------------------------------------------------------------------------

@login_required
@permission_required("complaints.add_complaint", raise_exception=True)
def create(request):
    """Log a complaint; ?customer=<id> (from the customer page) fills the customer in."""
    from customers.models import Customer

    customer = None
    customer_id = _int(request.GET.get("customer") or request.POST.get("customer"))
    if customer_id:
        customer = get_object_or_404(for_user(Customer.objects.all(), request.user),
                                     pk=customer_id)
    matches = []
    query = request.GET.get("q", "").strip()
    if query and customer is None:
        matches = list(for_user(Customer.objects.filter(is_active=True), request.user)
                       .filter(Q(name__icontains=query) | Q(mobile__contains=query))
                       .select_related("store").order_by("name")[:20])
    form = ComplaintLogForm(request.POST or None, user=request.user, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_open(
                actor=request.user, customer=data["customer"], vehicle=data.get("vehicle"),
                channel=data["channel"], category=data["category"],
                description=data["description"], severity=data["severity"],
                important_reasons=data.get("important_reasons") or [],
                received_at=data.get("received_at"), department=data.get("department") or "")
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if not request.user.has_perm("complaints.view_complaint"):
                # The lounge logs a complaint and hands it to CR; it does not follow it.
                messages.success(request, _("投诉已登记，客户关爱部会跟进处理。"))
                return redirect("complaints:create")
            messages.success(request, _("投诉已登记，请在%(due)s前联系客户。") % {
                "due": timezone.localtime(complaint.response_due_at).strftime("%H:%M:%S")})
            return redirect("complaints:detail", pk=complaint.pk)
    can_view = request.user.has_perm("complaints.view_complaint")
    recent = selectors.recent_for_customer(request.user, customer.pk) if customer and can_view else []
    return render(request, "complaints/create.html", {
        "form": form, "customer": customer, "matches": matches, "query": query,
        "recent": recent,
    })


# Reports --------------------------------------------------------------------------------

def _month_start(day, back=0):
    year, month = day.year, day.month - back
    while month < 1:
        month += 12
        year -= 1
    return day.replace(year=year, month=month, day=1)


@login_required
@permission_required("complaints.view_complaint_report", raise_exception=True)
@reads_from_replica
def report(request):
    today = timezone.localdate()
    start, end = validation.query_date_range(request.GET, _month_start(today, back=5), today)
    tz = timezone.get_current_timezone()
    data = selectors.report(
        request.user, store=_int(request.GET.get("store")),
        start=datetime.combine(start, datetime.min.time(), tzinfo=tz),
        end=datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz))
    return render(request, "complaints/report.html", {
        **data, "start": start, "end": end,
        "stores": stores_of(request.user).order_by("code"),
        "store": _int(request.GET.get("store")),
        "dimension_labels": {"department": _("按责任部门"), "category": _("按投诉类别"),
                             "severity": _("按投诉级别"), "month": _("按月份")},
        "state_breached": rules.SlaState.BREACHED,
    })


# Settings: SLA policy per store ------------------------------------------------------------

GROUP = "group"


def _sla_scope(request, value):
    """The store whose policy is shown (a store of the user's), or None for the group's
    default rows (a group administrator's)."""
    stores = list(stores_of(request.user).order_by("code"))
    if value == GROUP and request.user.is_superuser:
        return None, stores
    wanted = _int(value)
    for store in stores:
        if store.pk == wanted:
            return store, stores
    if value not in (None, "") or not stores:
        if request.user.is_superuser:
            return None, stores
        raise PermissionDenied(_("该记录不属于您的门店。"))
    return stores[0], stores


@login_required
@permission_required("complaints.change_slapolicy", raise_exception=True)
def sla_settings(request):
    """The SLA policy of each severity for one store (its own rows where it has them,
    else the group's), one form per severity, and what changed."""
    scope = request.POST.get("scope") if request.method == "POST" else request.GET.get("store")
    store, stores = _sla_scope(request, scope)
    policies = {}
    for policy in selectors.sla_policies(request.user):
        if policy.store_id is None:
            policies.setdefault(policy.severity, policy)
        if store is not None and policy.store_id == store.pk:
            policies[policy.severity] = policy
    forms_by_severity = {}
    for severity, label in Severity.choices:
        policy = policies.get(severity) or services.policy_for(severity)
        bound = request.method == "POST" and request.POST.get("severity") == severity
        form = SlaPolicyForm(request.POST if bound else None, instance=policy, prefix=severity)
        if bound and form.is_valid():
            data = {name: form.cleaned_data[name] for name in SLA_POLICY_FIELDS}
            try:
                services.sla_policy_set(actor=request.user, store=store, severity=severity,
                                        note=form.cleaned_data["note"], **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("已保存%(severity)s的时限规则。") % {"severity": label})
                return redirect(f"{reverse('complaints:sla-settings')}?store="
                                f"{store.pk if store else GROUP}")
        own = store is not None and policy.store_id == store.pk
        forms_by_severity[severity] = {"label": label, "form": form, "own": own,
                                       "group": store is None}
    return render(request, "complaints/sla_settings.html", {
        "store": store, "stores": stores, "group_scope": GROUP,
        "forms": forms_by_severity.values(),
        "changes": selectors.sla_policy_changes(request.user),
    })
