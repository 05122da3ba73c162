"""Pages of the site-wide floor: home, health, notifications, staff."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import imports, services, validation
from .exports import xlsx_response
from .filters import MessageFilter
from .forms import (
    CalendarYearForm,
    ImportUploadForm,
    NoticeChannelsForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    ScheduleForm,
    StaffForm,
    apply_errors,
    days_text,
)
from .history import changes
from .models import ImportJob, Message, NoticeChannels, Notification, User
from .roles import Role, grantable_roles, staff_change_refusal
from .scoping import for_user, stores_of
from .selectors import calendar_year_days, calendar_year_missing, message_purpose_labels
from .tasks import enqueue, import_job_run
from .throttling import IMPORT, throttle

# Where each role starts its day, first match wins; names of pages that may not exist
# yet are skipped.
ROLE_HOME = [
    (Role.GENERAL_MANAGER, "satisfaction:dashboard"),
    (Role.CR_MANAGER, "satisfaction:dashboard"),
    (Role.CALLER, "followups:worklist"),
    (Role.CR_SPECIALIST, "followups:worklist"),
    (Role.LOUNGE_ATTENDANT, "followups:lounge"),
    (Role.SALES_MANAGER, "complaints:board"),
    (Role.SERVICE_MANAGER, "complaints:board"),
]
# A general manager over several stores starts on the comparison of those stores.
GROUP_HOME = "satisfaction:group"


@login_required
def home(request):
    """Send each role to its daily work; the overview page when that work has no page."""
    roles = request.user.role_codes
    several_stores = Role.GENERAL_MANAGER in roles and stores_of(request.user).count() > 1
    for role, url_name in ROLE_HOME:
        if role in roles:
            if several_stores and role == Role.GENERAL_MANAGER:
                url_name = GROUP_HOME
            try:
                return redirect(reverse(url_name))
            except NoReverseMatch:
                continue
    return render(request, "crm_site/home.html", {
        "roles": request.user.role_labels,
        "stores": stores_of(request.user),
    })


@never_cache
def health(request):
    """For load balancers and compose health checks: the database and the broker."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - report any failure as unhealthy
        checks["database"] = f"error: {error.__class__.__name__}"
    checks["broker"] = _broker_status()
    healthy = all(value in ("ok", "in-process") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks},
                        status=200 if healthy else 503)


def _broker_status():
    from django.conf import settings

    if not settings.REDIS_URL:
        return "in-process"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1,
                             socket_timeout=1).ping()
    except redis.RedisError as error:
        return f"error: {error.__class__.__name__}"
    return "ok"


@login_required
def notification_list(request, form=None):
    notifications = Notification.objects.filter(user=request.user)[:30]
    if request.htmx:
        return render(request, "crm_site/partials/notifications.html",
                      {"notifications": notifications})
    channels = NoticeChannels.objects.filter(user=request.user).first()
    return render(request, "crm_site/notifications.html", {
        "notifications": notifications,
        "channels_form": form or NoticeChannelsForm(instance=channels),
    })


@login_required
def notification_bell(request):
    """The bell alone, for the page to poll (htmx, every BELL_REFRESH_SECONDS): the
    unread count and the newest unread title, one query each, no navigation."""
    from django.http import HttpResponse
    from django.template.loader import render_to_string

    unread = Notification.objects.filter(user=request.user).unread()
    return HttpResponse(render_to_string("crm_site/partials/bell.html", {
        "unread_notifications": unread.count(),
        "latest_notification": unread.values_list("title", flat=True).first(),
    }, request=None))


@login_required
@require_POST
def notice_channels(request):
    """The user chooses the channels of urgent notices (their own only)."""
    form = NoticeChannelsForm(request.POST)
    if form.is_valid():
        try:
            services.notice_channels_set(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("notification-list")
    return notification_list(request, form=form)


@login_required
@require_POST
def notification_read(request):
    ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit() and len(pk) < 10] or None
    services.notifications_mark_read(user=request.user, ids=ids)
    if request.htmx:
        return notification_list(request)
    return redirect("notification-list")


@login_required
@permission_required("crm_site.manage_staff", raise_exception=True)
def staff_list(request):
    staff = (for_user(User.objects.all(), request.user, "stores").distinct()
             .prefetch_related("groups", "stores").order_by("username"))
    page = Paginator(staff, 50).get_page(request.GET.get("page"))
    actor = User.objects.prefetch_related("groups").get(pk=request.user.pk)  # roles read once
    managed = set(stores_of(actor).values_list("pk", flat=True))
    for member in page:  # the row links to the form only when the one rule allows a change
        member.changeable = staff_change_refusal(actor, member, managed=managed) is None
    return render(request, "crm_site/staff_list.html", {"page": page})


@login_required
@permission_required("crm_site.manage_staff", raise_exception=True)
def staff_edit(request, pk=None):
    """Create or change a member of staff. A colleague the one rule
    (roles.staff_change_refusal) does not let the user change answers 403; the roles
    offered are those the user may grant (on oneself: only those already held)."""
    user = None
    if pk is not None:
        user = get_object_or_404(for_user(User.objects.all(), request.user, "stores").distinct()
                                 .prefetch_related("groups", "stores"), pk=pk)
        refusal = staff_change_refusal(request.user, user)
        if refusal:
            raise PermissionDenied(refusal)
    roles = grantable_roles(request.user)
    if user is not None and user.pk == request.user.pk:
        roles &= user.role_codes
    form = StaffForm(request.POST or None, instance=user, stores=stores_of(request.user),
                     creating=user is None, roles=roles)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        stores, roles = list(data.pop("stores")), data.pop("roles")
        try:
            if user is None:
                services.staff_create(actor=request.user, stores=stores, roles=roles, **data)
            else:
                services.staff_update(actor=request.user, user=user, stores=stores,
                                      roles=roles, **data)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            return redirect("staff-list")
    return render(request, "crm_site/staff_form.html", {"form": form, "staff": user})


@login_required
@permission_required("crm_site.view_message", raise_exception=True)
def message_list(request):
    filters = validation.filter_page(MessageFilter, request, for_user(
        Message.objects.select_related("store"), request.user))
    chosen = validation.filter_values(filters)
    status, delivery = chosen["status"], chosen["delivery"]
    page = Paginator(filters.qs.order_by("-id"), 50).get_page(request.GET.get("page"))
    labels = message_purpose_labels(message.purpose for message in page)
    for message in page:
        message.purpose_label = labels.get(message.purpose, message.purpose)
    return render(request, "crm_site/message_list.html", {
        "page": page, "statuses": Message.Status.choices, "status": status,
        "deliveries": Message.Delivery.choices, "delivery": delivery, "filters": filters,
    })


# Calendar years -------------------------------------------------------------------------

@login_required
@permission_required("crm_site.manage_calendar_year", raise_exception=True)
def calendar_year_list(request):
    """The national calendar's years: entered, known to the holiday library, or missing."""
    from django.utils import timezone

    from .models import CalendarYear
    from .rules import library_year_known

    today = timezone.localdate()
    entered = {row.year: row for row in CalendarYear.objects.all()}
    years = sorted({today.year - 1, today.year, today.year + 1, *entered}, reverse=True)
    rows = [{"year": year, "entered": entered.get(year), "library": library_year_known(year)}
            for year in years]
    return render(request, "crm_site/calendar_year_list.html", {
        "rows": rows, "missing": calendar_year_missing(today)})


@login_required
@permission_required("crm_site.manage_calendar_year", raise_exception=True)
def calendar_year_edit(request, year):
    """Enter a year's holidays and make-up workdays; pre-filled from the holiday library
    where it has the year."""
    if not 2000 <= year <= 2100:
        raise Http404
    days, entered = calendar_year_days(year)
    form = CalendarYearForm(request.POST or None, initial={"days": days_text(days)})
    if request.method == "POST" and form.is_valid():
        try:
            services.calendar_year_enter(actor=request.user, year=year,
                                         days=form.cleaned_data["days"],
                                         note=form.cleaned_data["note"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect("calendar-year-list")
    from .models import CalendarOverride, CalendarYear

    changes = (CalendarYear.history.filter(year=year).select_related("history_user")
               .order_by("-history_date")[:20])
    return render(request, "crm_site/calendar_year_form.html", {
        "form": form, "year": year, "entered": entered, "changes": changes,
        "library": not entered and bool(days),
        "day_changes": CalendarOverride.history.filter(store__isnull=True, date__year=year)
        .select_related("history_user").order_by("-history_date")[:50]})


# Settings: beat schedules ---------------------------------------------------------------------

@login_required
@permission_required("django_celery_beat.change_periodictask", raise_exception=True)
def schedule_settings(request):
    """The jobs beat runs and when, for the group administrator: one form to change a
    job's time (?edit=id) and what changed."""
    from django_celery_beat.models import PeriodicTask


    jobs = list(PeriodicTask.objects.select_related("crontab", "interval").order_by("id"))
    source = request.POST if request.method == "POST" else request.GET
    editing = next((j for j in jobs if str(j.pk) == source.get("edit")), None)
    form = None
    if editing is not None:
        form = ScheduleForm(request.POST if request.method == "POST" else None, job=editing)
        if request.method == "POST" and form.is_valid():
            try:
                services.schedule_update(actor=request.user, job=editing, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                flash.success(request, _("已保存。"))
                return redirect("schedule-settings")
    history = PeriodicTask.history.select_related("crontab", "interval")
    return render(request, "crm_site/schedule_settings.html", {
        "jobs": jobs, "form": form, "editing": editing,
        "changes": changes(history, fields=("enabled", "crontab", "interval"),
                           row_label=lambda record: record.name),
    })


# Imports (crm_site.imports) ----------------------------------------------------------------


def _may_import(user):
    return bool(imports.importers_for(user))


def _jobs_for(user):
    """Import jobs the user may see: of the kinds the user may import, in the user's
    stores (or of no store)."""
    kinds = list(imports.importers_for(user))
    return (ImportJob.objects.filter(kind__in=kinds)
            .filter(Q(store__in=stores_of(user)) | Q(store__isnull=True))
            .defer("content", "errors"))


@login_required
@throttle(IMPORT)
def import_upload(request):
    """Upload a file: a job checks it in the background (nothing is saved yet)."""
    importers = imports.importers_for(request.user)
    if not importers:
        raise PermissionDenied
    form = ImportUploadForm(request.POST or None, request.FILES or None, importers=importers,
                            stores=stores_of(request.user))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.job_create(
                actor=request.user, kind=form.cleaned_data["kind"],
                store=form.cleaned_data["store"], file_name=upload.name,
                content=upload.read(), language=translation.get_language() or "zh-hans")
        except ValidationError as error:
            apply_errors(form, error)
        else:
            enqueue(import_job_run, job.pk)
            return redirect("import-detail", job.pk)
    jobs = _jobs_for(request.user).select_related("store", "created_by")[:20]
    return render(request, "crm_site/import_upload.html", {
        "form": form, "jobs": jobs, "importers": importers,
        "labels": dict(ImportJob.Status.choices)})


def _job_of(request, pk):
    if not _may_import(request.user):
        raise PermissionDenied
    return get_object_or_404(_jobs_for(request.user).defer(None).defer("content")
                             .select_related("store", "created_by"), pk=pk)


def _job_context(job):
    importer = imports.REGISTRY[job.kind]
    return {"job": job, "kind_label": importer.label,
            "earlier": imports.earlier_import(job) if job.status == ImportJob.Status.CHECKED else None}


@login_required
def import_detail(request, pk):
    """One job: its progress (polled while it runs), counts, errors and the confirm."""
    job = _job_of(request, pk)
    return render(request, "crm_site/import_detail.html", _job_context(job))


@login_required
@never_cache
def import_status(request, pk):
    """The status fragment polled by the job's page."""
    job = _job_of(request, pk)
    return render(request, "crm_site/partials/import_status.html", _job_context(job))


@login_required
@require_POST
@throttle(IMPORT)
def import_confirm(request, pk):
    """Commit a checked file, all or nothing, in the background."""
    job = _job_of(request, pk)
    try:
        imports.job_commit(job=job, actor=request.user)
    except ValidationError as error:
        flash.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    else:
        enqueue(import_job_run, job.pk, commit=True)
    return redirect("import-detail", job.pk)


@login_required
def import_errors(request, pk):
    """The job's row errors as a spreadsheet."""
    if not _may_import(request.user):
        raise PermissionDenied
    job = get_object_or_404(_jobs_for(request.user).defer(None).defer("content"), pk=pk)
    return xlsx_response(imports.error_sheet(job), f"import-{job.pk}-errors.xlsx")


@login_required
def import_template(request, kind):
    """An empty file with the headings of one kind of import."""
    importer = imports.importers_for(request.user).get(kind)
    if importer is None:
        raise PermissionDenied
    return xlsx_response(imports.template_sheet(importer), f"import-{kind}.xlsx")


@csrf_exempt
@require_POST
def sms_callback(request, provider, kind, token):
    """Where Alibaba Cloud and Tencent Cloud push delivery receipts and customers'
    replies. Neither provider signs its pushes: the URL carries a secret token
    (SMS_CALLBACK_TOKEN) given only to the provider's console; a wrong or missing one is
    refused and nothing is recorded. Answers in the form the provider expects."""
    import hmac
    import json

    from django.conf import settings
    from django.http import HttpResponseBadRequest, HttpResponseForbidden, HttpResponseNotFound

    from .sms import PROVIDERS

    backend = PROVIDERS.get(provider)
    if backend is None or kind not in ("receipts", "replies"):
        return HttpResponseNotFound()
    expected = settings.SMS_CALLBACK_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponseForbidden("bad token")
    try:
        rows = json.loads(request.body)
        if isinstance(rows, dict):
            rows = [rows]
        if kind == "receipts":
            services.message_receipts_record(provider=provider,
                                             receipts=backend.parse_receipts(rows))
        else:
            services.sms_replies_receive(provider=provider, replies=backend.parse_replies(rows))
    except (ValueError, KeyError, TypeError, AttributeError):
        return HttpResponseBadRequest("malformed")
    return JsonResponse(backend.acknowledgement, json_dumps_params={"ensure_ascii": False})


def _client_address(request):
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)


def password_reset(request):
    """A member of staff who forgot their password asks for a code (SMS to the
    registered mobile, or e-mail). The answer is the same whether or not the user
    exists; limited per address (throttle) and per user (the service)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_request(ip_address=_client_address(request),
                                            **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(reverse("password-reset-confirm") + "?sent=1&username="
                            + form.cleaned_data["username"])
    return render(request, "registration/password_reset.html", {"form": form})


def password_reset_confirm(request):
    form = PasswordResetConfirmForm(request.POST or None,
                                    initial={"username": request.GET.get("username", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.password_reset_confirm(username=data["username"], code=data["code"],
                                            password=data["password1"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(reverse("login") + "?reset=1")
    return render(request, "registration/password_reset_confirm.html", {
        "form": form, "sent": request.GET.get("sent")})
