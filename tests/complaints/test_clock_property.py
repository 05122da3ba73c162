"""Property: whatever rhythm of pauses, resumes and sweeps the services see, the stored
resolution deadline is receipt + 24 hours + exactly the time spent paused, and the sweep
records at most one warning and one breach, each at the right second."""

from datetime import timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints import services
from complaints.models import ComplaintEvent

from .conftest import T0

pytestmark = pytest.mark.django_db
STEP = st.tuples(st.integers(min_value=1, max_value=8 * 3600),
                 st.sampled_from(["pause", "resume", "sweep"]))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_random_service_sequences_keep_the_deadline_exact(staff, customer, steps):
    with time_machine.travel(T0, tick=False) as clock:
        complaint = services.complaint_open(actor=staff["caller"], customer=customer,
                                            channel="phone", category="price",
                                            description="随机序列")
        complaint = services.complaint_respond(actor=staff["caller"], complaint=complaint,
                                               channel="phone", note="已联系")
        now, paused_since, paused_total = T0, None, timedelta(0)
        for wait, action in steps:
            now += timedelta(seconds=wait)
            clock.move_to(now)
            complaint.refresh_from_db()
            if action == "pause" and paused_since is None:
                if now > complaint.resolution_due_at:
                    continue  # refused past the deadline (tested elsewhere)
                services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="等")
                paused_since = now
            elif action == "resume" and paused_since is not None:
                services.complaint_resume(actor=staff["caller"], complaint=complaint)
                paused_total += now - paused_since
                paused_since = None
            elif action == "sweep":
                services.complaints_sweep()
                complaint.refresh_from_db()
                breached = ComplaintEvent.objects.filter(complaint=complaint, kind="breach",
                                                         clock="resolution").exists()
                # A pause is refused past the deadline, so a breach exists exactly when
                # an unpaused sweep ran after it.
                assert breached == (paused_since is None and now > complaint.resolution_due_at)
            complaint.refresh_from_db()
            assert complaint.resolution_due_at == T0 + timedelta(hours=24) + paused_total
            assert complaint.paused_seconds == paused_total.total_seconds()
        marks = ComplaintEvent.objects.filter(complaint=complaint, clock="resolution",
                                              kind__in=["warning", "breach"])
        for kind in ("warning", "breach"):
            events = [e for e in marks if e.kind == kind]
            assert len(events) <= 1
