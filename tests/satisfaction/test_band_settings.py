"""The customer analysis bands are edited on a settings page (no admin): each change
with a note, in the history, listed under "what changed"; the analysis page's
"编辑分段" link leads there."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from satisfaction import services
from satisfaction.models import CustomerBand

pytestmark = pytest.mark.django_db
URL = reverse("satisfaction:band-settings")


def _band(label):
    return CustomerBand.objects.get(label=label)


def test_a_manager_changes_a_band_with_a_note(client, cr_manager):
    band = CustomerBand.objects.filter(kind="age").order_by("order").first()
    client.force_login(cr_manager)
    response = client.post(URL, {"edit": band.pk, "kind": "age", "label": "青年",
                                 "lower": band.lower, "upper": 29, "order": band.order,
                                 "is_active": "on", "note": "按厂家口径调整"})
    assert response.status_code == 302
    band.refresh_from_db()
    assert (band.label, band.upper) == ("青年", 29)
    record = band.history.latest()
    assert (record.history_user, record.history_change_reason) == (cr_manager, "按厂家口径调整")
    page = client.get(URL).content.decode()
    assert "按厂家口径调整" in page and "青年" in page


def test_bad_bands_are_refused_naming_the_field(client, cr_manager):
    client.force_login(cr_manager)
    before = CustomerBand.objects.count()
    response = client.post(URL, {"kind": "age", "label": "倒挂", "lower": 50, "upper": 20,
                                 "order": 9, "note": ""})
    assert response.status_code == 200
    assert "note" in response.context["form"].errors
    assert CustomerBand.objects.count() == before
    with pytest.raises(ValidationError) as info:
        services.customer_band_save(actor=cr_manager, note="x", kind="age", label="倒挂",
                                    lower=50, upper=20)
    assert "上限不能小于下限" in str(info.value)
    assert CustomerBand.objects.count() == before


def test_staff_without_the_permission_are_refused(client, caller):
    client.force_login(caller)
    assert client.get(URL).status_code == 403
    with pytest.raises(PermissionDenied):
        services.customer_band_save(actor=caller, note="x", kind="age", label="新", lower=1)


def test_the_analysis_links_to_the_settings_page_not_the_admin(client, cr_manager):
    client.force_login(cr_manager)
    page = client.get(reverse("satisfaction:customer-analysis")).content.decode()
    assert URL in page and "/admin/" not in page


def test_the_page_runs_a_fixed_number_of_queries(client, cr_manager):
    client.force_login(cr_manager)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(4):
        services.customer_band_save(actor=cr_manager, note=f"第{n}次", kind="loyalty",
                                    label=f"等级{n}", lower=10 + n, upper=10 + n, order=20 + n)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_api_adds_and_changes_bands_with_a_note(client, cr_manager):
    client.force_login(cr_manager)
    response = client.post("/api/v1/customer-bands/", {
        "kind": "mileage", "label": "20万公里以上", "lower": 200000, "upper": None,
        "order": 30, "is_active": True, "note": "新增高里程段"}, content_type="application/json")
    assert response.status_code == 201, response.content
    band = _band("20万公里以上")
    response = client.patch(f"/api/v1/customer-bands/{band.pk}/", {
        "is_active": False, "note": "停用"}, content_type="application/json")
    assert response.status_code == 200, response.content
    band.refresh_from_db()
    assert not band.is_active
    assert band.history.latest().history_change_reason == "停用"
    response = client.patch(f"/api/v1/customer-bands/{band.pk}/", {"is_active": True},
                            content_type="application/json")
    assert response.status_code == 400 and "note" in response.json()["fields"]
