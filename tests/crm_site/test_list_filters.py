"""List pages filter through the same FilterSet as their API: a bad value is named on the
page (the other filters still apply) and refused with a 400 by the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LISTS = [
    ("message-list", "/api/v1/messages/", {"status": "gone"}),
    ("satisfaction:plan-list", "/api/v1/improvement-plans/", {"status": "gone"}),
    ("customers:list", "/api/v1/customers/", {"due": "never", "q": "王"}),
    ("complaints:board", "/api/v1/complaints/", {"severity": "huge"}),
    ("followups:appointments", "/api/v1/appointments/", {"status": "gone"}),
    ("inspections:rectifications", "/api/v1/rectifications/", {"status": "gone"}),
    ("customers:correction-list", "/api/v1/correction-requests/", {"status": "gone"}),
]


@pytest.mark.parametrize(("url_name", "api_path", "bad"), LISTS)
def test_a_bad_filter_is_named_on_the_page_and_refused_by_the_api(client, cr_manager, url_name,
                                                                   api_path, bad):
    client.force_login(cr_manager)
    response = client.get(reverse(url_name), bad)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html
    api = APIClient()
    api.force_authenticate(cr_manager)
    assert api.get(api_path).status_code == 200
    assert api.get(api_path, bad).status_code == 400


PAGES_ONLY = [
    ("satisfaction:check-list", {"kind": "secret"}),
    ("followups:plan", {"assignee": "nobody"}),
    ("satisfaction:report-list", {"period": "2026-13"}),
    ("satisfaction:weak-item-list", {"survey": "XYZ"}),
]


@pytest.mark.parametrize(("url_name", "bad"), PAGES_ONLY)
def test_lists_without_an_api_name_a_bad_filter_too(client, cr_manager, url_name, bad):
    client.force_login(cr_manager)
    response = client.get(reverse(url_name), bad)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html


@pytest.mark.parametrize("url_name", ["satisfaction:report-list", "satisfaction:weak-item-list",
                                      "satisfaction:check-list"])
def test_a_month_filters_the_list(client, cr_manager, store, url_name):
    client.force_login(cr_manager)
    response = client.get(reverse(url_name), {"store": store.pk, "period": "2026-12"})
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' not in response.content.decode()
