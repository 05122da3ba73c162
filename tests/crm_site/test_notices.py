"""Urgent notices reach people: besides the bell, each member of staff's chosen channels
(SMS to their mobile, their store's 企业微信 / 钉钉 robot of their role, each a local fake
on 127.0.0.1 checking key and 加签 as documented), once each, through the outboxes;
retried when a robot is busy or down, failed once, never posted twice; a routine notice
waits out the user's quiet hours. The bell refreshes itself from a small fragment."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm_site.models import Message, NoticeChannels, RobotPost, RobotWebhook
from crm_site.roles import Role
from crm_site.services import (
    notice_channels_set,
    notification_send,
    robot_posts_send_due,
)

from .robot_fakes import DING_SECRET, FakeRobot

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(params=["wecom", "dingtalk"])
def robot(request, store):
    with FakeRobot(request.param) as fake:
        fake.webhook = RobotWebhook.objects.create(
            store=store, role=Role.GENERAL_MANAGER, kind=request.param, url=fake.url,
            secret=DING_SECRET if request.param == "dingtalk" else "")
        yield fake
    assert fake.refused == []


@pytest.fixture
def managers(make_user, store, robot):
    """Two general managers of the store who both chose the robot; one also SMS."""
    first = make_user(Role.GENERAL_MANAGER, store, mobile="13900000001")
    second = make_user(Role.GENERAL_MANAGER, store)
    notice_channels_set(user=first, sms=True, wecom=True, dingtalk=True)
    notice_channels_set(user=second, sms=False, wecom=True, dingtalk=True,
                        quiet_start=time(22, 0), quiet_end=time(7, 0))
    return first, second


def _notify(users, store, alert="urgent", key="complaint:1:important"):
    notification_send(users=users, title="重要投诉：张三", body="车辆异响", url="/complaints/1/",
                      dedupe_key=key, alert=alert, store=store)


def test_an_urgent_notice_goes_to_the_robot_once_and_to_the_mobile(robot, managers, store):
    with time_machine.travel(at(2026, 11, 23, 23, 30), tick=False):  # at night: urgent all the same
        _notify(managers, store)
        _notify(managers, store)  # told again (a second sweep): nobody told twice
        robot_posts_send_due()
    assert len(robot.texts) == 1 and robot.texts[0].startswith("重要投诉：张三\n车辆异响")
    post = RobotPost.objects.get()
    assert (post.status, post.attempts) == (Message.Status.SENT, 1)
    sms = Message.objects.get()
    assert (sms.recipient, sms.template_code, sms.params) == (
        "13900000001", "SMS_STAFF_NOTICE", {"title": "重要投诉：张三"})
    assert sms.not_before == at(2026, 11, 23, 23, 30)  # not held to the customers' window
    for user in managers:
        assert user.notifications.count() == 1


def test_a_routine_notice_waits_out_the_quiet_hours(robot, make_user, store):
    user = make_user(Role.GENERAL_MANAGER, store)
    notice_channels_set(user=user, sms=False, wecom=True, dingtalk=True,
                        quiet_start=time(22, 0), quiet_end=time(7, 0))
    with time_machine.travel(at(2026, 11, 23, 23, 30), tick=False):
        _notify([user], store, alert="routine", key="complaint:1:response:1:warn")
        robot_posts_send_due()
    assert robot.texts == []
    assert RobotPost.objects.get().not_before == at(2026, 11, 24, 7, 0)
    with time_machine.travel(at(2026, 11, 24, 7, 0), tick=False):
        robot_posts_send_due()
    assert len(robot.texts) == 1


def test_nobody_who_chose_no_channel_gets_anything_outside(robot, make_user, store):
    user = make_user(Role.GENERAL_MANAGER, store)
    _notify([user], store)
    robot_posts_send_due()
    assert robot.texts == [] and not RobotPost.objects.exists() and not Message.objects.exists()
    assert user.notifications.count() == 1


def test_a_busy_robot_is_tried_again_later(robot, managers, store):
    robot.mode = "busy"
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        _notify(managers, store)
        assert robot_posts_send_due()["retry"] == 1
    robot.mode = "ok"
    with time_machine.travel(at(2026, 11, 23, 10, 1), tick=False):
        robot_posts_send_due()
        robot_posts_send_due()
    assert len(robot.texts) == 1 and RobotPost.objects.get().attempts == 2


def test_a_robot_down_is_retried_then_failed_once(robot, managers, store, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    robot.mode = "down"
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        _notify(managers, store)
        robot_posts_send_due()
    with time_machine.travel(at(2026, 11, 23, 10, 5), tick=False):
        robot_posts_send_due()
        robot_posts_send_due()
    post = RobotPost.objects.get()
    assert (post.status, post.attempts) == (Message.Status.FAILED, 2) and "502" in post.last_error


def test_a_dingtalk_robot_with_the_wrong_secret_fails_at_once(make_user, store):
    with FakeRobot("dingtalk") as fake:
        RobotWebhook.objects.create(store=store, role=Role.CR_MANAGER, kind="dingtalk",
                                    url=fake.url, secret="not-the-secret")
        user = make_user(Role.CR_MANAGER, store)
        notice_channels_set(user=user, sms=False, wecom=False, dingtalk=True)
        _notify([user], store)
        robot_posts_send_due()
        assert fake.texts == [] and fake.refused == ["sign"]
    post = RobotPost.objects.get()
    assert post.status == Message.Status.FAILED and "310000" in post.last_error


def test_sms_needs_a_registered_mobile(make_user, store, client):
    user = make_user(Role.CR_MANAGER, store)
    client.force_login(user)
    page = client.post(reverse("notice-channels"), {"sms": "on"}).content.decode()
    assert "请先在员工资料中登记手机号码" in page
    assert not NoticeChannels.objects.exists()


def test_the_channels_are_chosen_on_the_notifications_page(make_user, store, client):
    user = make_user(Role.CR_MANAGER, store, mobile="13900000002")
    client.force_login(user)
    response = client.post(reverse("notice-channels"), {
        "sms": "on", "wecom": "on", "quiet_start": "22:00", "quiet_end": "07:00"})
    assert response.status_code == 302
    channels = user.notice_channels
    channels.refresh_from_db()
    assert (channels.sms, channels.wecom, channels.dingtalk, channels.quiet_end) == (
        True, True, False, time(7, 0))
    assert channels.history.count() == 1
    page = client.get(reverse("notification-list")).content.decode()
    assert 'id="notice-channels"' in page


def test_the_bell_fragment_counts_unread_with_fixed_queries(make_user, store, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = make_user(Role.CR_MANAGER, store)
    client.force_login(user)
    page = client.get(reverse("notification-list")).content.decode()
    assert 'hx-get="/notifications/bell/"' in page and 'hx-trigger="every 30s"' in page
    notification_send(users=[user], title="通知0")
    client.get(reverse("notification-bell"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("notification-bell"))
    for n in range(1, 20):
        notification_send(users=[user], title=f"通知{n}")
    with CaptureQueriesContext(connection) as many:
        fragment = client.get(reverse("notification-bell")).content.decode()
    assert len(many) == len(one)
    assert 'data-testid="unread-count"' in fragment and ">20<" in fragment
