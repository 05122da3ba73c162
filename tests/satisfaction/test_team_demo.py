"""The team demo fills each team screen, and runs once."""

import io

import pytest
from django.utils import timezone

from crm_site.models import Message
from crm_site.roles import Role
from satisfaction.models import OneToOneTalk, SmileVote, TrainingAttendance, TrainingSession
from satisfaction.team import demo, selectors

pytestmark = pytest.mark.django_db


def test_team_demo_fills_the_screens_once(store, other_store, make_user):
    staff = {role: make_user(role, store, username=str(role)) for role in Role.values}
    context = {"store": store, "other_store": other_store, "staff": staff,
               "today": timezone.localdate(), "stdout": io.StringIO()}
    demo.seed(context)
    counts = (TrainingSession.objects.count(), OneToOneTalk.objects.count(), SmileVote.objects.count(),
              Message.objects.filter(purpose="staff_greeting").count())
    demo.seed(context)
    assert counts == (TrainingSession.objects.count(), OneToOneTalk.objects.count(),
                      SmileVote.objects.count(), Message.objects.filter(purpose="staff_greeting").count())
    assert counts[0] >= 11 and TrainingAttendance.objects.filter(score__isnull=False).exists()
    assert counts[3] >= 1  # the CR specialist's birthday is today
    overview = {p.code: s for p, s in selectors.training_overview(store, context["today"])}
    assert overview["brand_standard"].overdue
    talks = selectors.talk_overview(store, context["today"].replace(day=1))
    assert any(row.done for row in talks) and any(row.short for row in talks)
    assert any(not row.talks for row in talks)
    results = selectors.vote_results(store, [])
    assert results == []
    past = sorted({v.period for v in SmileVote.objects.all()})
    assert any(r.tie for r in selectors.vote_results(store, past))
    assert any(not r.tie and r.winners for r in selectors.vote_results(store, past))
