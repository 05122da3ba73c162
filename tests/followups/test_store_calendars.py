"""One store without a usable calendar is reported and skipped; the others are planned."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm_site.models import Notification, OpeningHours, Store
from crm_site.roles import Role
from crm_site.services import store_create
from followups import services
from followups.models import PlannerRun, Task

from .factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 11, 23)


@pytest.mark.django_db
def test_one_broken_store_nine_planned(dealer_group, make_user, admin_client):
    stores = [store_create(group=dealer_group, code=f"s{n}", name=f"门店{n}") for n in range(10)]
    for store in stores:
        make_user(Role.CALLER, store)
        VehicleFactory(store=store, first_service_due_on=MON + timedelta(days=14))
    broken = stores[4]
    OpeningHours.objects.filter(store=broken).delete()
    admin = make_user(Role.GENERAL_MANAGER, *stores, username="gm")
    with time_machine.travel(datetime(2026, 11, 23, 1, tzinfo=SH), tick=False):
        counts = services.reminders_plan(day=MON)
    planned = set(Task.objects.filter(channel="call").values_list("store__code", flat=True))
    assert planned == {s.code for s in stores} - {broken.code}
    assert counts["skipped_stores"] == [broken.code]
    assert PlannerRun.objects.get().finished_at is not None
    notice = Notification.objects.get(user=admin)
    assert broken.name in notice.title
    # Run again the same night: told once.
    with time_machine.travel(datetime(2026, 11, 23, 2, tzinfo=SH), tick=False):
        services.reminders_plan(day=MON)
    assert Notification.objects.filter(user=admin).count() == 1
    # The admin's store list says which store is not planned.
    page = admin_client.get("/admin/crm_site/store/")
    assert broken.name in page.content.decode() and Store.objects.count() == 10
    assert "没有营业时间" in page.content.decode()
