"""Erasing a customer's personal data at their request reaches every floor: after it no
row and no history row of any table names the customer or holds their mobile (calls,
SMS, appointments, survey reasons, lounge, club, complaints, notifications), while the
rows themselves stay so every count in the reports is the same. The customer page still
renders."""

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Count
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import Complaint
from crm_site.models import Message, Notification
from customers import hooks as customer_hooks
from customers import services as customer_services
from customers.models import CustomerErasure
from followups import hooks, services
from followups.models import (
    Appointment,
    CallAttempt,
    CareClass,
    ClassInvitation,
    ClubMember,
    LoungePreference,
    LoungeVisit,
    Outcome,
    SatisfactionAnswer,
    Task,
)

from .factories import CustomerFactory, VehicleFactory
from .helpers import MON, at, plan

pytestmark = pytest.mark.django_db

NAME, MOBILE = "赵建国", "13912345678"
APPS = ("crm_site", "customers", "followups", "complaints", "inspections", "satisfaction")


def _png():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _rows_holding(*secrets):
    """{table: rows} of every table of the apps (and the admin's change log) where any
    column of a row, as the database holds it, contains one of the secrets."""
    tables = {model._meta.db_table for label in APPS
              for model in apps.get_app_config(label).get_models()}
    tables.add(LogEntry._meta.db_table)
    found = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            for secret in secrets:
                cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s',  # noqa: S608
                               [f"%{secret}%"])
                if count := cursor.fetchone()[0]:
                    found[f"{table}: {secret}"] = count
    return found


def _report_counts():
    """What the reports count, per store."""
    def per(queryset, *fields):
        return list(queryset.values("store_id", *fields).annotate(n=Count("pk"))
                    .order_by("store_id", *fields))

    return {
        "complaints": per(Complaint.objects, "status", "severity", "category"),
        "tasks": per(Task.objects, "status", "channel", "outcome_kind"),
        "answers": per(SatisfactionAnswer.objects, "rating", "department"),
        "appointments": per(Appointment.objects, "status"),
        "lounge_visits": per(LoungeVisit.objects, "purpose"),
        "club_members": per(ClubMember.objects, "level", "source"),
        "messages": per(Message.objects),
        "call_attempts": CallAttempt.objects.values("outcome").annotate(n=Count("pk"))
        .order_by("outcome").count(),
    }


@pytest.fixture
def known(store, cr_manager, caller, settings, tmp_path):
    """A customer the store knows well: an SMS in the outbox, a follow-up call with notes,
    a dissatisfied answer with its reason and the complaint it raised, an appointment, a
    complaint of their own with an attachment, lounge visits and preferences, a club
    membership, an event's feedback, and admin-log entries; all naming them."""
    settings.MEDIA_ROOT = tmp_path
    customer = CustomerFactory(store=store, name=NAME, mobile=MOBILE)
    delivered = VehicleFactory(store=store, customer=customer, delivered_on=MON - timedelta(days=1),
                               first_service_due_on=MON + timedelta(days=15))
    plan(MON)
    assert Message.objects.filter(recipient=MOBILE, text__contains=NAME, status="ready").exists()
    call = Task.objects.get(vehicle=delivered, channel="call",
                            programme_code="post_delivery_followup")
    questions = list(call.programme.questions.all())
    said = f"{NAME}说交车时等了两小时，回电{MOBILE}"
    with time_machine.travel(at(MON, 10), tick=False) as clock:
        services.task_record_outcome(
            task=call, actor=cr_manager, outcome=Outcome.objects.get(code="reached"), notes=said,
            answers=[{"question": questions[0].pk, "rating": 2, "reason": said}], problem=said)
        services.appointment_book(actor=cr_manager, customer=customer, vehicle=delivered,
                                  booked_for=MON + timedelta(days=3), purpose="首保",
                                  notes=f"{NAME}要求上午，{MOBILE}")
        complaint = complaint_services.complaint_open(
            actor=cr_manager, customer=customer, channel="phone", category="attitude",
            description=f"{NAME}（{MOBILE}）投诉销售顾问态度差", severity="important",
            important_reasons="F", owner=caller)
        clock.shift(timedelta(minutes=5))
        complaint_services.complaint_respond(actor=cr_manager, complaint=complaint, channel="phone",
                                             note=f"已致电{NAME}")
        complaint_services.complaint_pause(actor=cr_manager, complaint=complaint,
                                           reason=f"等{NAME}来店")
        clock.shift(timedelta(minutes=5))
        complaint_services.complaint_resume(actor=cr_manager, complaint=complaint)
        complaint_services.complaint_attach(actor=cr_manager, complaint=complaint,
                                            upload=SimpleUploadedFile(f"{NAME}投诉信.png", _png()))
        complaint_services.complaint_resolve(actor=cr_manager, complaint=complaint,
                                             resolution=f"向{NAME}道歉并赠送保养",
                                             root_cause=f"顾问未接{NAME}电话")
        visit = services.lounge_visit_arrive(
            actor=cr_manager, store=store, purpose="service", customer=customer, drink="龙井",
            interests=f"{NAME}爱钓鱼", notes=f"{NAME}等车，{MOBILE}")
        services.lounge_visit_depart(actor=cr_manager, visit=visit, now=at(MON, 11))
        member = services.club_member_join(actor=cr_manager, customer=customer,
                                           source=ClubMember.Source.DELIVERY,
                                           notes=f"{NAME}的朋友推荐")
        services.club_member_leave(actor=cr_manager, member=member, reason=f"{NAME}搬家")
        activity = CareClass.objects.create(
            store=store, programme=services._event_programme(CareClass.Kind.DRIVE),
            kind=CareClass.Kind.DRIVE, title="自驾游", starts_at=at(MON + timedelta(days=2), 9))
        invitation = services.club_activity_sign_up(actor=cr_manager, activity=activity,
                                                    customer=customer)
        services.invitation_attendance(actor=cr_manager, invitation=invitation, attended=True)
        services.invitation_feedback(actor=cr_manager, invitation=invitation, rating=5,
                                     text=f"{NAME}：很好")
    for row in (customer, complaint, LoungePreference.objects.get(customer=customer)):
        LogEntry.objects.create(user=cr_manager, content_type=ContentType.objects.get_for_model(row),
                                object_id=str(row.pk), object_repr=str(row)[:200],
                                action_flag=CHANGE)
    return customer


def test_erasure_leaves_no_trace_of_the_customer_on_any_floor(known, cr_manager, store,
                                                              django_capture_on_commit_callbacks,
                                                              tmp_path):
    other = CustomerFactory(store=store, name="钱多多", mobile="13800000001")
    services.lounge_visit_arrive(actor=cr_manager, store=store, purpose="walk_in", customer=other,
                                 notes="钱多多来看车")
    assert {"followups_historicalloungevisit: 赵建国", "complaints_complaint: 赵建国",
            "crm_site_message: 13912345678", "crm_site_notification: 赵建国",
            "django_admin_log: 赵建国"} <= set(_rows_holding(NAME, MOBILE))
    open_calls = set(Task.objects.filter(customer=known).open().values_list("pk", flat=True))
    assert open_calls  # the next steps' calls, planned ahead
    before = _report_counts()

    with django_capture_on_commit_callbacks(execute=True):
        erasure = customer_services.customer_erase(customer=known, actor=cr_manager,
                                                   reason="客户书面申请")

    assert _rows_holding(NAME, MOBILE) == {}
    assert not [path for path in tmp_path.rglob("*") if NAME in path.name]
    after = _report_counts()
    assert sum(row["n"] for row in after.pop("tasks")) == sum(row["n"] for row in before.pop("tasks"))
    assert after == before
    # Nobody is left to dial: the open calls are cancelled, every row stays.
    assert set(Task.objects.filter(pk__in=open_calls).values_list("status", "cancel_reason")) == {
        ("cancelled", "erased")}
    assert not Task.objects.filter(customer=known).open().exists()
    assert erasure.scrubbed["tasks_cancelled"] == len(open_calls)
    assert erasure.scrubbed["complaints"] == 2 and erasure.scrubbed["messages"] == 1
    assert erasure.scrubbed["survey_answers"] == 1 and erasure.scrubbed["lounge_visit_history"] >= 2
    message = Message.objects.get(object_id__in=Task.objects.filter(customer=known).values("pk"))
    assert (message.recipient, message.text, message.params, message.status) == (
        "", customer_hooks.ERASED_TEXT, {}, "expired")  # never sent to nobody
    answer = SatisfactionAnswer.objects.get(task__customer=known)
    assert (answer.rating, answer.reason) == (2, customer_hooks.ERASED_TEXT)
    assert LoungePreference.objects.get(customer=known).drink == customer_hooks.ERASED_TEXT
    assert ClassInvitation.objects.get(customer=known).feedback_rating == 5
    assert "钱多多来看车" in LoungeVisit.objects.get(customer=other).notes  # others untouched
    assert CustomerErasure.objects.get(customer=known) == erasure


def test_the_erased_customers_pages_still_render(known, manager_client, cr_manager):
    customer_services.customer_erase(customer=known, actor=cr_manager, reason="客户书面申请")
    page = manager_client.get(reverse("customers:detail", args=[known.pk]))
    assert page.status_code == 200
    assert NAME not in page.text and MOBILE not in page.text
    assert customer_services.erased_name(known) in page.text
    complaint = Complaint.objects.filter(customer=known).first()
    page = manager_client.get(reverse("complaints:detail", args=[complaint.pk]))
    assert page.status_code == 200 and NAME not in page.text
    assert Notification.objects.filter(title__contains=customer_services.erased_name(known)).exists()


def test_followups_and_complaints_register_their_erasure_hooks_once():
    apps.get_app_config("followups").ready()
    apps.get_app_config("complaints").ready()
    registered = customer_hooks.customer_erased.functions()
    from complaints import hooks as complaint_hooks

    assert registered.count(hooks.customer_erased) == 1
    assert registered.count(complaint_hooks.customer_erased) == 1


def test_erasure_runs_the_same_queries_however_many_rows(store, cr_manager):
    from django.test.utils import CaptureQueriesContext

    def erase_with(rows):
        customer = CustomerFactory(store=store, card="C")
        with time_machine.travel(at(MON, 10), tick=False):
            for hour in range(rows):
                visit = services.lounge_visit_arrive(actor=cr_manager, store=store,
                                                     purpose="walk_in", customer=customer,
                                                     notes="等车")
                services.lounge_visit_depart(actor=cr_manager, visit=visit,
                                             now=at(MON, 11 + hour))
                complaint_services.complaint_open(actor=cr_manager, customer=customer,
                                                  channel="phone", description="投诉")
        with CaptureQueriesContext(connection) as queries:
            customer_services.customer_erase(customer=customer, actor=cr_manager, reason="申请")
        return len(queries)

    erase_with(1)  # content types and permissions cached
    assert erase_with(1) == erase_with(4)
