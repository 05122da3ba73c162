"""A customer's personal data erased on request: their complaints keep every clock,
status, round and department, so the complaint report is the same, but their text, the
complaints' history and timeline, the attachments' names and the notifications about
them no longer say who the customer was. The attachment itself is still served."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from complaints import selectors, services
from complaints.models import Complaint, ComplaintAttachment, ComplaintEvent
from crm_site.models import Notification
from customers import services as customer_services
from customers.hooks import ERASED_TEXT

from .conftest import T0
from .test_services import PNG

pytestmark = pytest.mark.django_db

NAME = "张三"


def _handled(open_complaint, staff, clock):
    """A complaint through a whole round and a reissue, every text naming the customer."""
    complaint = open_complaint(description=f"{NAME}投诉保养后异响", owner=staff["crm"])
    services.complaint_respond(actor=staff["caller"], complaint=complaint, channel="phone",
                               note=f"已联系{NAME}")
    services.complaint_attach(actor=staff["caller"], complaint=complaint,
                              upload=SimpleUploadedFile(f"{NAME}的录音截图.png", PNG))
    clock.move_to(T0 + timedelta(hours=1))
    services.complaint_hand_off(actor=staff["crm"], complaint=complaint, department="service",
                                department_manager=staff["svc"], note=f"{NAME}很着急")
    services.complaint_record_department_feedback(
        actor=staff["svc"], complaint=complaint, feedback=f"已约{NAME}复检",
        root_cause=f"{NAME}的车漏装垫片", corrective_action="复检流程加一步")
    services.complaint_resolve(actor=staff["crm"], complaint=complaint,
                               resolution=f"为{NAME}免费更换")
    services.complaint_record_callback(actor=staff["crm"], complaint=complaint, satisfied=False,
                                       note=f"{NAME}仍不满意")
    return Complaint.objects.get(pk=complaint.pk)


def test_erasure_keeps_the_complaint_and_its_clocks_but_not_who_complained(
        open_complaint, staff, clock, customer, settings, tmp_path,
        django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    complaint = _handled(open_complaint, staff, clock)
    report_before = selectors.report(staff["crm"], start=T0 - timedelta(days=1),
                                     end=T0 + timedelta(days=1))
    events_before = list(complaint.events.values_list("kind", "clock", "round", "at"))
    assert Notification.objects.filter(title__contains=NAME).exists()

    with django_capture_on_commit_callbacks(execute=True):
        erasure = customer_services.customer_erase(customer=customer, actor=staff["crm"],
                                                   reason="客户申请")

    complaint.refresh_from_db()
    texts = [complaint.description, complaint.root_cause, complaint.corrective_action,
             complaint.department_feedback, complaint.resolution]
    assert texts == [ERASED_TEXT] * 5 and complaint.pause_reason == ""  # empty stays empty
    assert (complaint.status, complaint.round, complaint.department) == ("handed_off", 2, "service")
    for row in complaint.history.all():
        assert NAME not in " ".join([row.description, row.root_cause, row.corrective_action,
                                     row.department_feedback, row.resolution])
    assert complaint.history.count() == erasure.scrubbed["complaint_history"]
    assert list(complaint.events.values_list("kind", "clock", "round", "at")) == events_before
    assert not ComplaintEvent.objects.filter(note__contains=NAME).exists()
    assert not Notification.objects.filter(title__contains=NAME).exists()
    assert not Notification.objects.filter(body__contains=NAME).exists()
    assert selectors.report(staff["crm"], start=T0 - timedelta(days=1),
                            end=T0 + timedelta(days=1))["totals"] == report_before["totals"]

    attachment = ComplaintAttachment.objects.get()
    assert attachment.original_name == f"{attachment.pk}.png"
    assert NAME not in attachment.file.name
    assert [path.name for path in tmp_path.rglob("*.png")] == [f"{attachment.pk}.png"]
    assert attachment.file.read() == PNG  # the evidence is still there


def test_the_erased_customers_complaint_page_renders(open_complaint, staff, clock, customer,
                                                     client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    complaint = _handled(open_complaint, staff, clock)
    customer_services.customer_erase(customer=customer, actor=staff["crm"], reason="客户申请")
    client.force_login(staff["crm"])
    page = client.get(reverse("complaints:detail", args=[complaint.pk]))
    assert page.status_code == 200
    assert NAME not in page.text and customer_services.erased_name(customer) in page.text
    attachment = ComplaintAttachment.objects.get()
    assert client.get(attachment.file.url).status_code == 200


def test_another_customers_complaint_is_untouched(open_complaint, staff, clock, customer,
                                                  foreign_customer, make_user, other_store):
    from crm_site.roles import Role

    open_complaint(description=f"{NAME}投诉")
    other_caller = make_user(Role.CALLER, other_store)
    theirs = services.complaint_open(actor=other_caller, customer=foreign_customer,
                                     channel="phone", description="李四提到张三也遇到过")
    customer_services.customer_erase(customer=customer, actor=staff["crm"], reason="客户申请")
    theirs.refresh_from_db()
    assert theirs.description == "李四提到张三也遇到过"
