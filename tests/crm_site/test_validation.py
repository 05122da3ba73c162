"""The attacks an outside audit tried, replayed: each is refused with a 400 that names the
field in the user's language, quickly, and leaves no row behind."""

import json
import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from complaints.models import Complaint
from crm_site.roles import Role
from customers.models import Customer
from tests.customers.factories import make_customer
from tests.validation import api_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def gm(make_user, store, other_store):
    return make_user(Role.GENERAL_MANAGER, store, other_store, username="gm")


@pytest.fixture
def gm_client(client, gm):
    client.force_login(gm)
    return client


@pytest.fixture
def api(gm):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=gm).key}")
    return client


# One request, one worker: a date range over eight thousand years ----------------------------

@pytest.mark.parametrize("name", ["complaints:report", "followups:funnel", "inspections:dashboard"])
def test_a_report_over_the_whole_calendar_is_refused_at_once(gm_client, name):
    started = time.monotonic()
    response = gm_client.get(reverse(name), {"start": "0001-01-01", "end": "9999-12-31"})
    assert response.status_code == 400
    assert time.monotonic() - started < 5
    assert "日期" in response.content.decode()


def test_a_report_range_of_ten_years_is_refused_naming_the_end_date(gm_client):
    response = gm_client.get(reverse("complaints:report"), {"start": "2000-01-01", "end": "2010-01-01"})
    assert response.status_code == 400
    assert "结束日期：日期范围最多" in response.content.decode()


def test_a_report_over_a_plausible_range_still_answers(gm_client):
    response = gm_client.get(reverse("complaints:report"), {"start": "2026-01-01", "end": "2026-06-30"})
    assert response.status_code == 200


def test_the_refusal_speaks_english_to_an_english_user(gm_client):
    gm_client.cookies["crm_language"] = "en"
    response = gm_client.get(reverse("complaints:report"), {"start": "0001-01-01"})
    assert response.status_code == 400
    assert "Start date: Dates must be between 1900-01-01 and 2099-12-31." in response.content.decode()


@pytest.mark.parametrize("period", ["9999-12", "9999", "0001-01"])
def test_the_satisfaction_figures_refuse_a_month_at_the_end_of_the_calendar(api, period):
    for url in ("/api/v1/kpis/", "/api/v1/customer-analysis/"):
        response = api.get(url, {"period": period})
        assert response.status_code == 400, url
        assert "period" in api_errors(response)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_day_pages_refuse_a_day_at_the_edge_of_the_calendar(gm_client, store, day):
    for url in (reverse("followups:plan"), reverse("inspections:today"),
                reverse("satisfaction:report-daily") + f"?store={store.pk}"):
        response = gm_client.get(url, {"day": day})
        assert response.status_code == 400, url


# A control character in the search box ------------------------------------------------------

@pytest.mark.parametrize("text", ["\x00", "张\x00三", "\x1b[31m", "\x7f"])
def test_a_control_character_in_the_customer_search_is_a_400_naming_the_search(gm_client, text):
    response = gm_client.get(reverse("customers:list"), {"q": text})
    assert response.status_code == 400
    assert "搜索：不能包含控制字符。" in response.content.decode()


def test_a_control_character_in_any_api_query_parameter_is_a_400_naming_it(api):
    response = api.get("/api/v1/customers/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert api_errors(response) == {"search": ["不能包含控制字符。"]}


def test_a_search_longer_than_any_name_is_refused(gm_client):
    response = gm_client.get(reverse("customers:list"), {"q": "张" * 10_000})
    assert response.status_code == 400


def test_a_nul_byte_in_a_written_text_leaves_no_row(api, store):
    customer = make_customer(store)
    response = api.post("/api/v1/complaints/", {
        "customer": customer.pk, "channel": "phone", "category": "other",
        "description": "漏油\x00"}, format="json")
    assert response.status_code == 400
    assert "description" in api_errors(response)
    assert not Complaint.objects.exists()


def test_a_nul_byte_posted_from_a_page_form_leaves_no_row(gm_client, store):
    fields = {"store": store.pk, "kind": "person", "name": "张\x00三", "mobile": "13800138000"}
    typed = gm_client.post(reverse("customers:create"), urlencode(fields),
                           content_type="application/x-www-form-urlencoded")
    assert typed.status_code == 400
    assert "不能包含控制字符。" in typed.content.decode()
    uploaded = gm_client.post(reverse("customers:create"), fields)  # multipart: the form refuses
    assert "不能包含控制字符。" in uploaded.content.decode()
    assert not Customer.objects.exists()


def test_tabs_and_line_breaks_in_free_text_are_kept(api, store):
    customer = make_customer(store)
    response = api.post("/api/v1/complaints/", {
        "customer": customer.pk, "channel": "phone", "category": "other",
        "description": "第一行\r\n\t第二行"}, format="json")
    assert response.status_code == 201, response.content
    assert Complaint.objects.get().description == "第一行\r\n\t第二行"


# 500s the API should answer with 400 or 404 -------------------------------------------------

def test_a_format_suffix_on_an_api_action_is_not_found(api, store):
    response = api.post("/api/v1/complaints/1/respond.json", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("query", [
    {"booked_for": "0001-01-01"}, {"booked_for": "9999-12-31"},
    {"planned_on_after": "0001-01-01", "planned_on_before": "9999-12-31"},
])
def test_read_endpoints_refuse_dates_at_the_edges_of_the_calendar(api, query):
    url = "/api/v1/appointments/" if "booked_for" in query else "/api/v1/followup-tasks/"
    response = api.get(url, query)
    assert response.status_code == 400
    assert set(api_errors(response)) & {*query, "planned_on"}


@pytest.mark.parametrize("number", [str(2**31), str(2**63), str(10**30)])
def test_numbers_beyond_their_column_are_refused_or_not_found(api, number):
    assert api.get(f"/api/v1/customers/{number}/").status_code == 404
    assert api.get("/api/v1/customers/", {"store": number}).status_code == 400
    assert api.get("/api/v1/kpis/", {"store": number}).status_code in (200, 400)
    assert api.get("/api/v1/club-kpis/", {"store": number}).status_code == 404


def test_an_amount_beyond_its_column_leaves_no_row(api, store):
    customer = make_customer(store)
    response = api.post("/api/v1/complaints/", {
        "customer": customer.pk, "vehicle": 2**63, "channel": "phone", "category": "other",
        "description": "漏油"}, format="json")
    assert response.status_code == 400
    assert "vehicle" in api_errors(response)
    assert not Complaint.objects.exists()


# Implausible values ----------------------------------------------------------------------------

@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_a_birthday_centuries_away_is_refused_naming_it(api, store, day):
    response = api.post("/api/v1/customers/", {"store": store.pk, "name": "张三",
                                               "mobile": "13800138000", "birth_date": day},
                        format="json")
    assert response.status_code == 400
    assert api_errors(response)["birth_date"] == ["日期应在 1900-01-01 至 2099-12-31 之间。"]
    assert not Customer.objects.exists()


def test_a_megabyte_of_free_text_is_refused_naming_the_field(api, store):
    customer = make_customer(store)
    response = api.post("/api/v1/complaints/", {
        "customer": customer.pk, "channel": "phone", "category": "other",
        "description": "x" * 1_000_000}, format="json")
    assert response.status_code == 400
    assert "description" in api_errors(response)
    assert not Complaint.objects.exists()


def test_a_page_form_refuses_a_visit_in_year_9999_naming_the_field(gm_client, store):
    response = gm_client.post(reverse("customers:create"), {
        "store": store.pk, "kind": "person", "name": "张三", "mobile": "13800138000",
        "birth_date": "9999-01-01"})
    assert response.status_code == 200
    assert "日期应在 1900-01-01 至 2099-12-31 之间。" in response.content.decode()
    assert not Customer.objects.exists()


def test_half_a_surrogate_pair_in_json_is_refused_not_a_server_error(api, store):
    customer = make_customer(store)
    body = json.dumps({"customer": customer.pk, "channel": "phone", "category": "other",
                       "description": "漏油\ud800"})  # sent as \\ud800, as JSON allows
    response = api.post("/api/v1/complaints/", body, content_type="application/json")
    assert response.status_code == 400
    assert api_errors(response) == {"description": ["不能包含控制字符。"]}
    assert not Complaint.objects.exists()


def test_a_reassignment_to_a_caller_that_is_no_number_is_refused(gm_client):
    response = gm_client.post(reverse("followups:reassign"), {"assignee": "abc", "next": "//evil.example"})
    assert response.status_code == 400
    assert "回访员：应为整数。" in response.content.decode()


def test_after_a_reassignment_the_page_goes_back_only_within_the_site(gm_client):
    response = gm_client.post(reverse("followups:reassign"), {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:plan")
