"""Two schedulers at once: every scheduled job run concurrently from two processes
(`manage.py run_jobs`, what beat starts) plans, sends and escalates each thing once."""

import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from complaints import services as complaints
from complaints.models import ComplaintEvent
from crm_site.models import Message, Notification
from crm_site.roles import Role
from crm_site.services import message_queue
from followups.models import Task
from tests.followups.factories import CustomerFactory, VehicleFactory

from .conftest import BASE_DIR, current_database_url, site_env
from .sms_backends import sent_ids

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
VEHICLES = 20
COMPLAINTS = 10
MESSAGES = 20


def test_two_schedulers_plan_send_and_escalate_once(store, make_user, tmp_path):
    caller = make_user(Role.CALLER, store, username="beat-caller")
    make_user(Role.CR_MANAGER, store, username="beat-crm")
    today = timezone.localdate()
    for _n in range(VEHICLES):
        VehicleFactory(store=store, delivered_on=today - timedelta(days=1))
        VehicleFactory(store=store, first_service_due_on=today + timedelta(days=15))
    customer = CustomerFactory(store=store)
    week_ago = timezone.now() - timedelta(days=7)
    complaint_ids = [complaints.complaint_open(
        actor=caller, customer=customer, channel="phone", category="service_quality",
        description=f"投诉{n}", received_at=week_ago + timedelta(minutes=n)).pk
        for n in range(COMPLAINTS)]
    queued = [message_queue(store=store, recipient=f"1370000{n:04d}", template_code="SMS_1").pk
              for n in range(MESSAGES)]
    Message.objects.filter(pk__in=queued).update(not_before=timezone.now() - timedelta(minutes=1))
    Notification.objects.all().delete()

    log = tmp_path / "sent.txt"
    env = site_env(current_database_url(), "", CELERY_TASK_ALWAYS_EAGER="true",
                   SMS_BACKEND="tests.faults.sms_backends.SlowFileBackend",
                   FAULTS_SMS_LOG=str(log), FAULTS_SMS_DELAY="0.05")
    runs = [subprocess.Popen([sys.executable, "manage.py", "run_jobs"], cwd=BASE_DIR, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [run.communicate(timeout=240)[0].decode(errors="replace") for run in runs]
    if any(run.returncode for run in runs):
        print(*outputs, sep="\n-----\n")
    assert [run.returncode for run in runs] == [0, 0]

    # Sent once: no message reached the provider twice, every due one did.
    sent = Counter(sent_ids(log))
    assert not [pk for pk, times in sent.items() if times > 1]
    assert set(queued) <= set(sent)
    assert Message.objects.filter(status=Message.Status.SENT).count() == len(sent)
    # Planned once: one task per vehicle and step, one SMS per SMS task.
    assert Task.objects.values("vehicle", "step").annotate(c=Count("id")).filter(c__gt=1).count() == 0
    assert Task.objects.filter(programme_code="post_delivery_followup").count() == VEHICLES
    per_subject = (Message.objects.exclude(object_id=None).values("content_type", "object_id")
                   .annotate(c=Count("id")).filter(c__gt=1))
    assert not per_subject.exists()
    # Escalated once: one response breach per complaint, told once to its owner.
    breaches = ComplaintEvent.objects.filter(complaint_id__in=complaint_ids, kind="breach",
                                             clock="response")
    assert sorted(breaches.values_list("complaint_id", flat=True)) == sorted(complaint_ids)
    told = Notification.objects.filter(user=caller).values("dedupe_key").annotate(c=Count("id"))
    assert told.count() >= COMPLAINTS and not told.filter(c__gt=1).exists()
