"""The morning check of the nightly planner: a night that did not finish tells the
managers of every store at once (bell and their chosen robot), once; a finished night
tells nobody."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm_site.models import Notification, RobotPost, RobotWebhook
from crm_site.roles import Role
from crm_site.services import notice_channels_set, robot_posts_send_due
from followups.models import PlannerRun
from followups.services import planner_night_check
from tests.crm_site.robot_fakes import FakeRobot

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 23)


def test_a_night_that_did_not_finish_reaches_the_managers_once(store, other_store, make_user,
                                                               caller):
    manager = make_user(Role.CR_MANAGER, store)
    other_manager = make_user(Role.GENERAL_MANAGER, other_store)
    PlannerRun.objects.create(day=DAY, started_at=datetime(2026, 11, 23, 1, 0,
                                                            tzinfo=ZoneInfo("Asia/Shanghai")))
    with FakeRobot("wecom") as robot:
        RobotWebhook.objects.create(store=store, role=Role.CR_MANAGER, kind="wecom", url=robot.url)
        notice_channels_set(user=manager, sms=False, wecom=True, dingtalk=False)
        planner_night_check(day=DAY)
        planner_night_check(day=DAY)
        robot_posts_send_due()
        assert len(robot.texts) == 1 and "夜间计划未完成：2026-11-23" in robot.texts[0]
    assert Notification.objects.filter(user=manager).count() == 1
    assert Notification.objects.filter(user=other_manager).count() == 1
    assert not Notification.objects.filter(user=caller).exists()


def test_a_finished_night_tells_nobody(store, make_user):
    make_user(Role.CR_MANAGER, store)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    PlannerRun.objects.create(day=DAY, started_at=now, finished_at=now)
    assert planner_night_check(day=DAY) == 0
    assert not Notification.objects.exists() and not RobotPost.objects.exists()
