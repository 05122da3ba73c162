"""The complaint services on a frozen clock, probed on both sides of every edge."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints import services
from complaints.models import Complaint, ComplaintAttachment, ComplaintEvent, SlaPolicy
from complaints.rules import SlaState
from crm_site.models import Notification

from .conftest import T0
from .factories import VehicleFactory

pytestmark = pytest.mark.django_db
S = timedelta(seconds=1)
Kind = ComplaintEvent.Kind


def kinds(complaint):
    return list(complaint.events.order_by("at", "id").values_list("kind", flat=True))


def respond(complaint, actor, **fields):
    return services.complaint_respond(actor=actor, complaint=complaint, channel="phone",
                                      note="已致电客户致歉", **fields)


def errors_of(info):
    return info.value.message_dict


# Opening --------------------------------------------------------------------------------

def test_open_stores_the_deadlines_of_the_policy(open_complaint):
    complaint = open_complaint()
    assert complaint.received_at == T0
    assert complaint.response_due_at == T0 + timedelta(minutes=30)
    assert complaint.response_warn_at == T0 + timedelta(minutes=24)
    assert complaint.resolution_due_at == T0 + timedelta(hours=24)
    assert complaint.resolution_warn_at == T0 + timedelta(hours=19, minutes=12)
    assert complaint.status == Complaint.Status.NEW
    assert complaint.responded_at is None  # opening is not a contact
    assert kinds(complaint) == [Kind.OPENED]


def test_open_logged_after_the_call_counts_from_receipt(open_complaint, clock):
    complaint = open_complaint(received_at=T0 - timedelta(minutes=10) + timedelta(microseconds=700))
    assert complaint.received_at == T0 - timedelta(minutes=10)
    assert complaint.response_due_at == T0 + timedelta(minutes=20)


def test_policy_rows_are_the_domain_defaults_and_editable(open_complaint):
    policy = SlaPolicy.objects.get(severity="general")
    assert (policy.response_minutes, policy.resolution_minutes, policy.department_days,
            policy.warning_percent, policy.repeat_window_days) == (30, 1440, 3, 80, 90)
    policy.response_minutes = 15
    policy.save()
    assert open_complaint().response_due_at == T0 + timedelta(minutes=15)


def test_working_hours_policy_counts_only_opening_hours(open_complaint, clock):
    SlaPolicy.objects.filter(severity="general").update(working_hours_only=True)
    clock.move_to(T0.replace(hour=9, minute=20))  # 17:20 Monday in Shanghai
    complaint = open_complaint()
    assert complaint.response_due_at == T0.replace(day=24, hour=0, minute=50)  # Tue 08:50


def test_important_complaint_tells_managers_at_once(open_complaint, staff):
    complaint = open_complaint(severity="important", important_reasons="a,f")
    assert complaint.important_reasons == "AF"
    told = set(Notification.objects.filter(dedupe_key=f"complaint:{complaint.pk}:important")
               .values_list("user__username", flat=True))
    assert told == {"crm", "gm"}
    assert kinds(complaint) == [Kind.OPENED, Kind.ESCALATED]


@pytest.mark.parametrize(("fields", "field"), [
    ({"received_at": T0 + S}, "received_at"),
    ({"severity": "important", "important_reasons": "AZ"}, "important_reasons"),
    ({"severity": "important", "important_reasons": ""}, "important_reasons"),
    ({"severity": "general", "important_reasons": "A"}, "important_reasons"),
    ({"channel": "fax"}, "channel"),
    ({"description": "  "}, "description"),
])
def test_bad_input_names_the_field_and_saves_nothing(open_complaint, fields, field):
    with pytest.raises(ValidationError) as info:
        open_complaint(**fields)
    assert field in errors_of(info)
    assert not Complaint.objects.exists()
    assert not ComplaintEvent.objects.exists()
    assert not Notification.objects.exists()


def test_unknown_reason_letter_is_named(open_complaint):
    with pytest.raises(ValidationError) as info:
        open_complaint(severity="important", important_reasons="A,X")
    assert "X" in errors_of(info)["important_reasons"][0]


def test_foreign_store_customer_is_refused(open_complaint, foreign_customer):
    with pytest.raises(ValidationError) as info:
        open_complaint(customer=foreign_customer)
    assert "customer" in errors_of(info)
    assert not Complaint.objects.exists()


def test_vehicle_of_another_customer_is_refused(open_complaint, store):
    stranger_car = VehicleFactory(customer__store=store)
    with pytest.raises(ValidationError) as info:
        open_complaint(vehicle=stranger_car)
    assert "vehicle" in errors_of(info)


def test_repeat_within_90_days_is_flagged_and_repair_suggests_g(open_complaint, vehicle, clock):
    first = open_complaint(vehicle=vehicle, received_at=T0 - timedelta(days=90))
    second = open_complaint(vehicle=vehicle, category="technical")
    assert second.is_repeat and second.repeat_of == first
    opened = second.events.get(kind=Kind.OPENED)
    assert opened.data["suggested_reasons"] == ["G"]


def test_older_than_90_days_is_not_a_repeat(open_complaint, clock):
    open_complaint(received_at=T0 - timedelta(days=90, seconds=1))
    assert not open_complaint().is_repeat


# Response clock ---------------------------------------------------------------------------

@pytest.mark.parametrize(("after", "state"), [
    (timedelta(minutes=29, seconds=59), SlaState.IN_TIME),
    (timedelta(minutes=30), SlaState.IN_TIME),
    (timedelta(minutes=30, seconds=1), SlaState.BREACHED),
])
def test_response_edges(open_complaint, staff, clock, after, state):
    complaint = open_complaint()
    clock.move_to(T0 + after)
    complaint = respond(complaint, staff["caller"])
    assert complaint.responded_at == T0 + after
    assert complaint.clock_states(T0 + after)["response"] == state


def test_contact_logged_later_keeps_its_time_but_not_the_future(open_complaint, staff, clock):
    complaint = open_complaint()
    clock.move_to(T0 + timedelta(hours=1))
    with pytest.raises(ValidationError) as info:
        respond(complaint, staff["caller"], contacted_at=T0 + timedelta(hours=2))
    assert "contacted_at" in errors_of(info)
    with pytest.raises(ValidationError) as info:
        respond(complaint, staff["caller"], contacted_at=T0 - S)
    assert "contacted_at" in errors_of(info)
    complaint = respond(complaint, staff["caller"], contacted_at=T0 + timedelta(minutes=5))
    event = complaint.events.get(kind=Kind.RESPONDED)
    assert event.at == T0 + timedelta(minutes=5)
    assert event.recorded_at >= T0 + timedelta(hours=1)


def test_resolving_before_responding_is_refused(open_complaint, staff):
    complaint = open_complaint()
    with pytest.raises(ValidationError) as info:
        services.complaint_resolve(actor=staff["caller"], complaint=complaint, resolution="x")
    assert "responded_at" in errors_of(info)
    complaint.refresh_from_db()
    assert complaint.resolved_at is None and complaint.resolution == ""
    assert kinds(complaint) == [Kind.OPENED]


# Resolution clock ------------------------------------------------------------------------------

@pytest.mark.parametrize(("after", "state"), [
    (timedelta(hours=23, minutes=59, seconds=59), SlaState.IN_TIME),
    (timedelta(hours=24), SlaState.IN_TIME),
    (timedelta(hours=24, seconds=1), SlaState.BREACHED),
])
def test_resolution_edges(open_complaint, staff, clock, after, state):
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + after)
    complaint = services.complaint_resolve(actor=staff["caller"], complaint=complaint,
                                           resolution="更换部件")
    assert complaint.resolved_at == T0 + after
    assert complaint.clock_states(T0 + after)["resolution"] == state


def test_pause_and_resume_move_the_deadline_by_exactly_the_paused_time(open_complaint, staff,
                                                                       clock):
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=2, seconds=13))
    complaint = services.complaint_pause(actor=staff["caller"], complaint=complaint,
                                         reason="等待厂家答复")
    assert complaint.paused_at == T0 + timedelta(hours=2, seconds=13)
    response_due = complaint.response_due_at
    clock.move_to(T0 + timedelta(hours=7, minutes=41, seconds=59))
    complaint = services.complaint_resume(actor=staff["caller"], complaint=complaint)
    paused = timedelta(hours=5, minutes=41, seconds=46)
    assert complaint.resolution_due_at == T0 + timedelta(hours=24) + paused
    assert complaint.resolution_warn_at == T0 + timedelta(hours=19, minutes=12) + paused
    assert complaint.paused_seconds == paused.total_seconds()
    assert complaint.response_due_at == response_due  # the response clock never pauses
    assert kinds(complaint)[-2:] == [Kind.PAUSED, Kind.RESUMED]
    # The new deadline's edges.
    clock.move_to(complaint.resolution_due_at)
    assert services.complaints_sweep()["resolution_breach"] == 0
    clock.move_to(complaint.resolution_due_at + S)
    assert services.complaints_sweep()["resolution_breach"] == 1


def test_paused_clock_is_not_breached_while_paused(open_complaint, staff, clock):
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=1))
    services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="等客户")
    clock.move_to(T0 + timedelta(days=3))
    counts = services.complaints_sweep()
    assert counts["resolution_breach"] == 0 and counts["resolution_warning"] == 0
    complaint.refresh_from_db()
    assert complaint.sla_state(T0 + timedelta(days=3)) == SlaState.IN_TIME


def test_pause_refused_after_the_deadline_and_before_contact(open_complaint, staff, clock):
    complaint = open_complaint()
    with pytest.raises(ValidationError) as info:
        services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="x")
    assert "status" in errors_of(info)
    complaint = respond(complaint, staff["caller"])
    clock.move_to(T0 + timedelta(hours=24, seconds=1))
    with pytest.raises(ValidationError) as info:
        services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="x")
    assert "paused_at" in errors_of(info)
    with pytest.raises(ValidationError) as info:
        services.complaint_resume(actor=staff["caller"], complaint=complaint)
    assert "paused_at" in errors_of(info)


def test_resolving_a_paused_complaint_resumes_it(open_complaint, staff, clock):
    complaint = respond(open_complaint(), staff["caller"])
    services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="等厂家")
    clock.move_to(T0 + timedelta(hours=30))
    complaint = services.complaint_resolve(actor=staff["caller"], complaint=complaint,
                                           resolution="厂家同意索赔")
    assert complaint.paused_at is None
    assert complaint.resolution_due_at == T0 + timedelta(hours=54)
    assert complaint.clock_states(T0 + timedelta(hours=30))["resolution"] == SlaState.IN_TIME


# Department rounds ---------------------------------------------------------------------------

def test_full_round_with_reissue_until_satisfied(open_complaint, staff, clock):
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=1))
    complaint = services.complaint_hand_off(actor=staff["caller"], complaint=complaint,
                                            department="service")
    assert complaint.department_manager == staff["svc"]
    assert complaint.department_due_at == T0 + timedelta(days=3, hours=1)
    assert Notification.objects.filter(user=staff["svc"]).count() == 1
    with pytest.raises(ValidationError) as info:
        services.complaint_resolve(actor=staff["caller"], complaint=complaint, resolution="x")
    assert "department_feedback" in errors_of(info)
    clock.move_to(T0 + timedelta(hours=5))
    complaint = services.complaint_record_department_feedback(
        actor=staff["svc"], complaint=complaint, feedback="已重新紧固", root_cause="螺栓松动")
    assert complaint.root_cause == "螺栓松动"
    complaint = services.complaint_resolve(actor=staff["caller"], complaint=complaint,
                                           resolution="已处理")
    first_resolved = complaint.resolved_at
    clock.move_to(T0 + timedelta(hours=8))
    complaint = services.complaint_record_callback(actor=staff["caller"], complaint=complaint,
                                                   satisfied=False, note="仍有异响")
    assert complaint.round == 2
    assert complaint.status == Complaint.Status.HANDED_OFF
    assert complaint.department_due_at == T0 + timedelta(days=3, hours=8)
    assert complaint.department_feedback_at is None
    assert Notification.objects.filter(user=staff["svc"]).count() == 2
    complaint = services.complaint_record_department_feedback(
        actor=staff["svc"], complaint=complaint, feedback="更换衬套")
    complaint = services.complaint_resolve(actor=staff["caller"], complaint=complaint,
                                           resolution="更换衬套后试车正常")
    assert complaint.resolved_at == first_resolved  # the 24-hour clock stopped the first time
    complaint = services.complaint_record_callback(actor=staff["caller"], complaint=complaint,
                                                   satisfied=True, note="满意")
    assert complaint.status == Complaint.Status.CLOSED
    assert kinds(complaint) == [
        Kind.OPENED, Kind.RESPONDED, Kind.HANDED_OFF, Kind.DEPARTMENT_FEEDBACK, Kind.RESOLVED,
        Kind.CALLBACK_UNSATISFIED, Kind.REISSUED, Kind.DEPARTMENT_FEEDBACK, Kind.RESOLVED,
        Kind.CALLBACK_SATISFIED]


def test_reissue_needs_a_reason_and_a_state(open_complaint, staff):
    complaint = respond(open_complaint(), staff["caller"])
    with pytest.raises(ValidationError) as info:
        services.complaint_reissue(actor=staff["caller"], complaint=complaint, note="x")
    assert "status" in errors_of(info)


def test_department_breach_of_each_round_is_recorded_once_per_round(open_complaint, staff, clock):
    complaint = respond(open_complaint(), staff["caller"])
    complaint = services.complaint_hand_off(actor=staff["caller"], complaint=complaint,
                                            department="service")
    clock.move_to(T0 + timedelta(days=3, seconds=1))
    counts = services.complaints_sweep()
    assert counts["department_breach"] == 1
    complaint = services.complaint_record_department_feedback(actor=staff["svc"],
                                                              complaint=complaint, feedback="迟到的反馈")
    complaint = services.complaint_reissue(actor=staff["crm"], complaint=complaint, note="处理不到位")
    clock.move_to(T0 + timedelta(days=6, seconds=2))
    assert services.complaints_sweep()["department_breach"] == 1
    assert services.complaints_sweep()["department_breach"] == 0
    assert complaint.events.filter(kind=Kind.BREACH, clock="department").count() == 2


# Sweep ------------------------------------------------------------------------------------

def test_sweep_records_warning_and_breach_once_and_notifies_once(open_complaint, staff, clock):
    complaint = open_complaint()
    clock.move_to(T0 + timedelta(minutes=23, seconds=59))
    assert services.complaints_sweep()["response_warning"] == 0
    clock.move_to(T0 + timedelta(minutes=24))
    assert services.complaints_sweep()["response_warning"] == 1
    assert services.complaints_sweep()["response_warning"] == 0
    clock.move_to(T0 + timedelta(minutes=30))
    assert services.complaints_sweep()["response_breach"] == 0
    clock.move_to(T0 + timedelta(minutes=30, seconds=1))
    assert services.complaints_sweep()["response_breach"] == 1
    assert services.complaints_sweep()["response_breach"] == 0
    complaint.refresh_from_db()
    assert complaint.response_warned_at == T0 + timedelta(minutes=24)
    assert complaint.response_breached_at == T0 + timedelta(minutes=30, seconds=1)
    assert complaint.events.filter(kind=Kind.WARNING).count() == 1
    assert complaint.events.filter(kind=Kind.BREACH).count() == 1
    warned = Notification.objects.filter(dedupe_key__endswith="response:1:warning")
    assert list(warned.values_list("user__username", flat=True)) == ["caller"]
    breached = Notification.objects.filter(dedupe_key__endswith="response:1:breach")
    assert sorted(breached.values_list("user__username", flat=True)) == ["caller", "crm"]


def test_breached_resolution_also_tells_the_general_manager(open_complaint, staff, clock):
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=24, seconds=1))
    counts = services.complaints_sweep()
    assert counts["resolution_breach"] == 1
    assert counts["resolution_warning"] == 0  # past the deadline: the breach says it all
    told = set(Notification.objects.filter(dedupe_key__endswith="resolution:1:breach")
               .values_list("user__username", flat=True))
    assert told == {"caller", "crm", "gm"}
    assert complaint.events.filter(kind=Kind.ESCALATED).count() == 1


def test_responded_complaint_gets_no_response_marks(open_complaint, staff, clock):
    respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=2))
    counts = services.complaints_sweep()
    assert counts["response_warning"] == counts["response_breach"] == 0


# Attachments ---------------------------------------------------------------------------

def png_bytes():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()


def test_attachment_is_checked_by_content(open_complaint, staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    complaint = open_complaint()
    photo = services.complaint_attach(actor=staff["caller"], complaint=complaint,
                                      upload=SimpleUploadedFile("现场.txt", PNG))
    assert photo.content_type == "image/png"
    assert photo.file.name.endswith(".png")
    pdf = services.complaint_attach(actor=staff["caller"], complaint=complaint,
                                    upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%..."))
    assert pdf.content_type == "application/pdf"
    for bad in (b"MZ\x90\x00 not a picture", b"\x89PNG\r\n\x1a\n broken"):
        with pytest.raises(ValidationError) as info:
            services.complaint_attach(actor=staff["caller"], complaint=complaint,
                                      upload=SimpleUploadedFile("photo.png", bad))
        assert "file" in errors_of(info)
    assert ComplaintAttachment.objects.count() == 2


# Classification ----------------------------------------------------------------------------

def test_raising_to_important_applies_its_policy_and_tells_managers(open_complaint, staff, clock):
    SlaPolicy.objects.filter(severity="important").update(response_minutes=15,
                                                          resolution_minutes=12 * 60)
    complaint = respond(open_complaint(), staff["caller"])
    clock.move_to(T0 + timedelta(hours=1))
    complaint = services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="等客户")
    clock.move_to(T0 + timedelta(hours=2, minutes=30))
    complaint = services.complaint_resume(actor=staff["caller"], complaint=complaint)
    complaint = services.complaint_classify(actor=staff["crm"], complaint=complaint,
                                            severity="important", important_reasons=["B"],
                                            category="attitude", note="客户称要起诉")
    assert complaint.response_due_at == T0 + timedelta(minutes=15)
    # 12 hours of resolution time plus the 90 minutes it was paused.
    assert complaint.resolution_due_at == T0 + timedelta(hours=13, minutes=30)
    assert complaint.current_due_at == complaint.resolution_due_at
    told = set(Notification.objects.filter(dedupe_key=f"complaint:{complaint.pk}:important")
               .values_list("user__username", flat=True))
    assert told == {"crm", "gm"}
    assert kinds(complaint)[-2:] == [Kind.CLASSIFIED, Kind.ESCALATED]


def test_classify_refuses_bad_reasons_and_saves_nothing(open_complaint, staff):
    complaint = open_complaint()
    with pytest.raises(ValidationError) as info:
        services.complaint_classify(actor=staff["crm"], complaint=complaint,
                                    severity="important", important_reasons="Q",
                                    category="price")
    assert "important_reasons" in errors_of(info)
    complaint.refresh_from_db()
    assert complaint.severity == "general" and complaint.category == "service_quality"


def test_board_sort_key_follows_the_running_clock(open_complaint, staff, clock):
    complaint = open_complaint()
    assert complaint.current_due_at == complaint.response_due_at
    complaint = respond(complaint, staff["caller"])
    assert complaint.current_due_at == complaint.resolution_due_at
    complaint = services.complaint_resolve(actor=staff["caller"], complaint=complaint,
                                           resolution="已解决")
    assert complaint.current_due_at is None


def test_other_floors_may_open_without_a_category(staff, customer, clock):
    complaint = services.complaint_open(actor=staff["caller"], customer=customer,
                                        channel="followup_call", description="回访中客户抱怨")
    assert complaint.category == "other"


def test_inactive_customer_is_refused(open_complaint, customer):
    customer.is_active = False
    customer.save()
    with pytest.raises(ValidationError) as info:
        open_complaint()
    assert "customer" in errors_of(info)
