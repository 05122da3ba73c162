"""An important complaint reaches the general manager at once: logged at the CR desk, it
goes to her store's 企业微信 group robot (a local fake on 127.0.0.1 that checks the key)
exactly once within one sweep, and the bell on the page she has open shows it without a
reload (the bell polls its fragment)."""

import pytest
from playwright.sync_api import expect

from complaints.models import Complaint, Severity
from complaints.services import complaint_open
from crm_site.models import RobotWebhook
from crm_site.roles import Role
from crm_site.services import notice_channels_set, robot_posts_send_due

from ..browser import shot, sign_in
from ..crm_site.robot_fakes import FakeRobot
from ..followups.factories import VehicleFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_important_complaint_reaches_the_general_managers_robot_and_bell(
        live_server, page, staff, store, settings):
    settings.BELL_REFRESH_SECONDS = 1
    car = VehicleFactory(store=store, customer__name="张三", plate="沪A12345")
    with FakeRobot("wecom") as robot:
        RobotWebhook.objects.create(store=store, role=Role.GENERAL_MANAGER, kind="wecom",
                                    url=robot.url)
        notice_channels_set(user=staff["gm"], sms=False, wecom=True, dingtalk=False)

        sign_in(page, live_server.url, "gm")
        page.goto(f"{live_server.url}/notifications/")
        expect(page.locator("#bell [data-testid=unread-count]")).to_have_count(0)

        complaint_open(actor=staff["crm"], customer=car.customer, vehicle=car,
                       channel=Complaint.Channel.PHONE, description="刹车异响，客户要求退车",
                       severity=Severity.IMPORTANT, important_reasons="A")
        robot_posts_send_due()  # the sweep; the post went out on commit already
        robot_posts_send_due()

        assert len(robot.texts) == 1 and robot.refused == []
        assert "重要投诉：张三" in robot.texts[0]
        badge = page.locator("#bell [data-testid=unread-count]")
        expect(badge).to_have_text("1", timeout=10_000)  # no reload: the bell polled
        assert "重要投诉：张三" in badge.get_attribute("title")
        shot(page, "urgent-notice-bell")
