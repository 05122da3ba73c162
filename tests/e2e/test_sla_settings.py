"""A CR manager shortens her store's response deadline from 30 to 20 minutes on the
settings page, in a real browser; the next complaint logged in her store runs on a
20-minute clock, while the other store of the group keeps 30 minutes."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from complaints import services
from complaints.models import Complaint
from crm_site.roles import Role

from ..browser import open_nav, shot, sign_in
from ..followups.factories import VehicleFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_store_shortens_its_response_deadline(live_server, device_page, staff, store,
                                                other_store, make_user):
    page = device_page
    car = VehicleFactory(store=store, customer__name="王五", plate="沪B54321")
    other_car = VehicleFactory(store=other_store, customer__name="赵六")

    sign_in(page, live_server.url, "crm")
    open_nav(page, "设置", "投诉时限规则")
    card = page.locator("[data-testid=sla-general]")
    expect(card.locator("[data-testid=source]")).to_have_text("沿用集团默认")
    expect(card.locator("input[name=general-response_minutes]")).to_have_value("30")
    card.locator("input[name=general-response_minutes]").fill("20")
    card.locator("input[name=general-note]").fill("集团检查要求20分钟内响应")
    with page.expect_navigation():
        card.get_by_role("button", name="保存").click()
    card = page.locator("[data-testid=sla-general]")
    expect(card.locator("[data-testid=source]")).to_have_text("本店规则")
    expect(card.locator("input[name=general-response_minutes]")).to_have_value("20")
    expect(page.locator("[data-testid=changes]")).to_contain_text("集团检查要求20分钟内响应")
    shot(page, "sla-settings")

    # A new complaint of her store, logged from the menu, gets a 20-minute clock.
    open_nav(page, "投诉", "登记投诉")
    page.fill("input[name=q]", "王五")
    with page.expect_navigation():
        page.locator("input[name=q]").press("Enter")
    with page.expect_navigation():
        page.locator("[data-testid=customer-matches] a", has_text="王五").click()
    page.select_option("#id_vehicle", str(car.pk))
    page.select_option("#id_category", Complaint.Category.WAITING)
    page.fill("#id_description", "等待时间过长")
    with page.expect_navigation():
        page.get_by_role("button", name="登记并开始计时").click()
    ours = Complaint.objects.get(customer=car.customer)
    assert ours.response_due_at - ours.received_at == timedelta(minutes=20)

    # The other store keeps the group's 30 minutes.
    theirs = services.complaint_open(
        actor=make_user(Role.CALLER, other_store), customer=other_car.customer,
        vehicle=other_car, channel="phone", category="waiting", description="等待时间过长")
    assert theirs.response_due_at - theirs.received_at == timedelta(minutes=30)
