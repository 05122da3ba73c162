"""Calls, SMS, appointments, lounge visits and the owners' club on the customer's timeline
(one query each)."""

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_site.models import Message
from customers.timeline import TimelineEntry, as_datetime

from .models import Appointment, CallAttempt, CareClass, ClassInvitation, ClubMember, LoungeVisit, Task


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


def lounge_club_entries(customer, user):
    """Visits to the lounge (with what they were offered), the club membership and the
    club activities the customer was invited to (three queries)."""
    entries = []
    if user.has_perm("followups.view_loungevisit"):
        for visit in (LoungeVisit.objects.filter(customer=customer)
                      .select_related("served_by").order_by("-arrived_at")[:100]):
            stay = (_("%(from)s–%(to)s") % {
                "from": timezone.localtime(visit.arrived_at).strftime("%H:%M"),
                "to": timezone.localtime(visit.departed_at).strftime("%H:%M")}
                if visit.departed_at else _("在休息区"))
            entries.append(TimelineEntry(
                when=visit.arrived_at, kind="lounge",
                title=_("吧台来访（%(purpose)s）%(stay)s") % {
                    "purpose": visit.get_purpose_display(), "stay": stay},
                body=" · ".join(filter(None, [visit.drink, visit.newspaper, visit.interests,
                                               str(visit.served_by or ""), visit.notes])),
                url=reverse("followups:lounge")))
    if user.has_perm("followups.view_clubmember"):
        for member in ClubMember.objects.filter(customer=customer).select_related("level"):
            entries.append(TimelineEntry(
                when=as_datetime(member.joined_on), kind="club",
                title=_("加入车友会（%(level)s，%(source)s）") % {
                    "level": member.level.label, "source": member.get_source_display()},
                url=reverse("followups:club")))
            if member.left_on:
                entries.append(TimelineEntry(
                    when=as_datetime(member.left_on), kind="club",
                    title=_("退出车友会"), body=member.left_reason,
                    url=reverse("followups:club")))
    if user.has_perm("followups.view_classinvitation"):
        for invitation in (ClassInvitation.objects.filter(customer=customer)
                           .exclude(care_class__kind=CareClass.Kind.CARE_CLASS)
                           .select_related("care_class").order_by("-care_class__starts_at")[:100]):
            activity = invitation.care_class
            attended = {True: _("已出席"), False: _("缺席")}.get(invitation.attended)
            values = {"title": activity.title, "reply": invitation.get_reply_display(),
                      "attended": attended}
            entries.append(TimelineEntry(
                when=activity.starts_at, kind="club",
                title=(_("车友会活动：%(title)s（%(reply)s，%(attended)s）") if attended
                       else _("车友会活动：%(title)s（%(reply)s）")) % values,
                body=invitation.feedback,
                url=reverse("followups:class", args=[activity.pk])))
    return entries
