"""Calls, SMS and appointments on the customer's timeline (one query each)."""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.translation import gettext as _

from crm_site.models import Message
from customers.timeline import TimelineEntry

from .models import Appointment, CallAttempt, Task


def followup_entries(customer, user):
    if not user.has_perm("followups.view_task"):
        return []
    entries = []
    for attempt in (CallAttempt.objects.filter(task__customer=customer)
                    .select_related("task__programme", "outcome", "caller")
                    .order_by("-called_at")[:100]):
        entries.append(TimelineEntry(
            when=attempt.called_at, kind="call",
            title=_("%(programme)s电话：%(outcome)s") % {
                "programme": attempt.task.programme.name, "outcome": attempt.outcome.label},
            body=" ".join(filter(None, [str(attempt.caller), attempt.notes])),
            url=reverse("followups:task", args=[attempt.task_id])))
    task_type = ContentType.objects.get_for_model(Task)
    for message in (Message.objects.filter(
            content_type=task_type,
            object_id__in=Task.objects.filter(customer=customer, channel="sms").values("pk"))
            .order_by("-id")[:100]):
        entries.append(TimelineEntry(
            when=message.sent_at or message.not_before, kind="sms",
            title=_("短信（%(status)s）") % {"status": message.get_status_display()},
            body=message.text))
    for appointment in (Appointment.objects.filter(customer=customer)
                        .select_related("vehicle").order_by("-booked_for")[:100]):
        entries.append(TimelineEntry(
            when=appointment.created_at, kind="appointment",
            title=_("预约 %(day)s：%(purpose)s（%(status)s）") % {
                "day": appointment.booked_for.isoformat(), "purpose": appointment.purpose,
                "status": appointment.get_status_display()},
            body=str(appointment.vehicle or "")))
    return entries
