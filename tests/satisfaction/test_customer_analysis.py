"""Who our customers are: each breakdown at its edges (age exactly 25, lapsed at the
configured days, a customer with exactly 4 visits), own-store versus other-store, the
drill-down lists, exports, the API, store scoping and a fixed number of queries."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from crm_site.roles import Role
from customers import rules as customer_rules
from customers import services as customer_services
from followups.models import FollowupSettings, Programme, RefusalReason, Task
from satisfaction import rules, services
from satisfaction.analysis import customer_analysis, customers_behind
from satisfaction.models import CustomerAnalysisSnapshot, CustomerBand
from tests.customers.factories import make_vin

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MAY = rules.parse_span("2026-05")  # counted on 2026-05-31
_SEQ = iter(range(1, 10**6))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def customer(store, *, born=None, source="展厅", region="浦东新区", hobbies="", bought=True,
             delivered=date(2026, 5, 10), model="卡罗拉", visits=(), mileage=5000, **fields):
    """A customer of `store` with one vehicle (sold by the store when `bought`) and visits
    on the given days, each 5,000 km further than the one before."""
    n = next(_SEQ)
    person = customer_services.customer_create(
        store=store, name=f"客户{n}", mobile=f"139{n:08d}", source=source, region=region,
        hobbies=hobbies, birth_date=born, allow_duplicate=True, **fields)
    vehicle = customer_services.vehicle_register(store=store, customer=person, vin=make_vin(n),
                                                 plate=f"沪A{n:05d}", model_name=model)
    if bought:
        customer_services.sale_record(vehicle=vehicle, price=Decimal("150000"),
                                      order_date=delivered - timedelta(days=5), delivered_on=delivered)
    elif delivered:
        vehicle.delivered_on = delivered
        vehicle.save(update_fields=["delivered_on"])
    for index, day in enumerate(sorted(visits)):
        customer_services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                               date_in=day, mileage=mileage + index * 5000)
    return person


def rows(data, code):
    return {row["label"]: row["count"] for row in data.get(code).rows}


def band(kind, label):
    return CustomerBand.objects.get(kind=kind, label=label)


def analyse(store, span=MAY):
    return customer_analysis(store, span, today=TODAY.date())


# Rules -----------------------------------------------------------------------------------------

def test_spans_month_quarter_year():
    assert rules.parse_span("2026-05") == rules.Span(date(2026, 5, 1), date(2026, 6, 1), "month", "2026-05")
    assert rules.parse_span("2026-q2").start == date(2026, 4, 1)
    assert rules.parse_span("2026-Q4").end == date(2027, 1, 1)
    assert rules.parse_span("2026").end == date(2027, 1, 1)
    assert rules.span_shift(rules.parse_span("2026-Q1"), -1).text == "2025-Q4"
    assert rules.span_shift(rules.parse_span("2026"), 1).text == "2027"
    for bad in ("2026-Q5", "1999", "abc", ""):
        with pytest.raises(ValueError):
            rules.parse_span(bad)


def test_age_bands_at_the_edges():
    day = date(2026, 5, 31)
    earliest, latest = rules.birth_range(25, 34, day)
    assert latest == date(2001, 5, 31)  # 25 today: in
    assert earliest == date(1991, 5, 31)  # 35 today: out (born after this day only)
    assert rules.years_before(date(2028, 2, 29), 25) == date(2003, 2, 28)



def test_lapse_cutoff_and_interests():
    assert customer_rules.lapse_cutoff(date(2026, 5, 31), 180) == date(2025, 12, 2)
    assert rules.interests("钓鱼、摄影,钓鱼 ；自驾游") == ["钓鱼", "摄影", "自驾游"]
    assert rules.interests("") == []


# Sales side ------------------------------------------------------------------------------------

def test_age_exactly_25_falls_in_25_to_34(store):
    customer(store, born=date(2001, 5, 31))  # 25 on 31 May
    customer(store, born=date(2001, 6, 1))  # 24
    customer(store, born=date(1971, 6, 1))  # 54
    customer(store, born=date(1971, 5, 31))  # 55
    customer(store, born=None)
    data = analyse(store)
    ages = rows(data, "sales_age")
    assert ages["25-34岁"] == 1 and ages["25岁以下"] == 1
    assert ages["45-54岁"] == 1 and ages["55岁及以上"] == 1
    assert ages["未填写"] == 1
    young = customers_behind(store, MAY, "sales_age", str(band("age", "25-34岁").pk), today=TODAY.date())
    assert [c.birth_date for c in young] == [date(2001, 5, 31)]
    assert customers_behind(store, MAY, "sales_age", "", today=TODAY.date()).count() == 1


def test_edited_age_band_moves_the_edge(store):
    customer(store, born=date(2001, 5, 31))
    under = band("age", "25岁以下")
    under.upper = 25
    under.save()
    assert rows(analyse(store), "sales_age")["25岁以下"] == 1


def test_sales_source_model_region_and_interests(store):
    customer(store, source="展厅", model="凯美瑞", hobbies="钓鱼、摄影")
    customer(store, source="展厅", model="卡罗拉", hobbies="钓鱼")
    customer(store, source="网络线索", region="徐汇区", hobbies="")
    customer(store, source="车展", delivered=date(2026, 4, 30))  # delivered before May: not counted
    data = analyse(store)
    assert rows(data, "sales_source") == {"展厅": 2, "网络线索": 1}
    assert rows(data, "sales_model") == {"卡罗拉": 2, "凯美瑞": 1}
    assert rows(data, "sales_region") == {"浦东新区": 2, "徐汇区": 1}
    assert rows(data, "sales_interest") == {"钓鱼": 2, "摄影": 1, "未填写": 1}
    assert data.sales_customers == 3
    assert customers_behind(store, MAY, "sales_interest", "钓鱼", today=TODAY.date()).count() == 2
    assert customers_behind(store, MAY, "sales_interest", "", today=TODAY.date()).count() == 1
    assert customers_behind(store, MAY, "sales_source", "网络线索", today=TODAY.date()).count() == 1
    shares = {row["label"]: row["share"] for row in data.get("sales_source").rows}
    assert shares["展厅"] == Decimal("66.7")


def test_quarter_and_year_spans_count_each_customer_once(store):
    customer(store, delivered=date(2026, 4, 2))
    customer(store, delivered=date(2026, 5, 2))
    assert analyse(store, rules.parse_span("2026-Q2")).sales_customers == 2
    assert analyse(store, rules.parse_span("2026")).sales_customers == 2
    assert analyse(store, rules.parse_span("2026-Q1")).sales_customers == 0


# After-sales -----------------------------------------------------------------------------------

def test_own_store_versus_other_store(store):
    customer(store, visits=[date(2026, 5, 3)])
    customer(store, bought=False, delivered=date(2024, 1, 5), visits=[date(2026, 5, 4)])
    customer(store, bought=False, delivered=date(2024, 1, 5), visits=[date(2026, 5, 5)])
    data = analyse(store)
    assert rows(data, "service_origin") == {"本店购车": 1, "他店购车": 2}
    assert customers_behind(store, MAY, "service_origin", "other", today=TODAY.date()).count() == 2


def test_loyalty_tiers_exactly_4_visits_is_loyal(store):
    customer(store, visits=[date(2026, 5, 20)])
    customer(store, visits=[date(2025, 11, 1), date(2026, 1, 5), date(2026, 5, 20)])
    loyal = customer(store, visits=[date(2025, 3, 1), date(2025, 9, 1), date(2026, 1, 5),
                                    date(2026, 5, 20)])
    customer(store, visits=[date(2025, 3, 1), date(2025, 9, 1), date(2026, 1, 5),
                            date(2026, 6, 1)])  # no visit in May: not serviced in the period
    data = analyse(store)
    assert rows(data, "service_loyalty") == {"新客户（1次）": 1, "常客（2-3次）": 1,
                                             "忠诚客户（4次及以上）": 1}
    tier = band("loyalty", "忠诚客户（4次及以上）")
    assert list(customers_behind(store, MAY, "service_loyalty", str(tier.pk), today=TODAY.date())) == [loyal]


def test_visit_frequency_and_mileage_bands(store):
    customer(store, visits=[date(2026, 5, 2), date(2026, 5, 20)], mileage=9999)  # 9,999 and 14,999
    customer(store, visits=[date(2026, 5, 3)], mileage=10000)
    data = analyse(store)
    frequency = rows(data, "service_frequency")
    assert frequency["1次"] == 1 and frequency["2次"] == 1 and frequency["6次及以上"] == 0
    mileage = rows(data, "service_mileage")
    assert mileage["1万公里以下"] == 1 and mileage["1万-3万公里"] == 2
    twice = customers_behind(store, MAY, "service_frequency", "2", today=TODAY.date())
    assert twice.count() == 1


def test_lapsed_at_the_configured_days_with_reasons(store):
    # counted on 31 May 2026; 180 days before is 2 December 2025
    lapsed = customer(store, bought=False, delivered=date(2024, 1, 1), visits=[date(2025, 12, 2)])
    customer(store, bought=False, delivered=date(2024, 1, 1), visits=[date(2025, 12, 3)])
    customer(store, delivered=date(2026, 5, 10))  # a new car is not lapsed
    programme = Programme.objects.get(code="lapsed_recall")
    reason = RefusalReason.objects.get(code="serviced_elsewhere")
    Task.objects.create(store=store, programme=programme, programme_code=programme.code,
                        step=programme.steps.first(), customer=lapsed, due_on=date(2026, 5, 1),
                        offset_days=-7, planned_on=date(2026, 4, 24), channel="call", status="done",
                        outcome_kind="refused", reason=reason)
    data = analyse(store)
    assert rows(data, "service_status") == {"活跃客户": 1, "流失客户": 1, "新车未进厂（未满流失天数）": 1}
    assert rows(data, "lapsed_reason") == {reason.label: 1}
    assert data.lapsed_after_days == 180
    assert list(customers_behind(store, MAY, "service_status", "lapsed", today=TODAY.date())) == [lapsed]
    assert list(customers_behind(store, MAY, "lapsed_reason", str(reason.pk), today=TODAY.date())) == [lapsed]

    settings = FollowupSettings.current()
    settings.lapsed_after_days = 179
    settings.save()
    assert rows(analyse(store), "service_status")["流失客户"] == 2


# Pages, exports, API, scoping, queries ---------------------------------------------------------

def _url(name, store, **query):
    params = "&".join(f"{k}={v}" for k, v in {"store": store.pk, "period": "2026-05", **query}.items())
    return f"{reverse(name)}?{params}"


def _load(store, n):
    for _ in range(n):
        customer(store, born=date(1990, 1, 1), hobbies="钓鱼、摄影", visits=[date(2026, 5, 12)])
        customer(store, bought=False, delivered=date(2024, 1, 1), visits=[date(2025, 5, 12)])


def _queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(context.captured_queries)


def test_page_draws_every_breakdown_with_links(client, cr_manager, store):
    _load(store, 2)
    client.force_login(cr_manager)
    response = client.get(_url("satisfaction:customer-analysis", store))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="customer-analysis-data"' in body
    assert "<script>" not in body.replace('<script src=', '')  # no inline script (CSP)
    for code in ("sales_source", "sales_age", "service_origin", "service_loyalty", "service_status"):
        assert f'data-chart="{code}"' in body
    assert "breakdown=service_origin&amp;key=other" in body
    assert response.context["data"].get("service_origin").total == 2


def test_picker_takes_a_quarter_and_steps_a_quarter_at_a_time(client, cr_manager, store):
    client.force_login(cr_manager)
    body = client.get(_url("satisfaction:customer-analysis", store, period="2026-Q1")).content.decode()
    assert 'type="text" name="period" id="pick-period" value="2026-Q1"' in body
    assert f'href="?store={store.pk}&amp;period=2025-Q4">‹ 2025-Q4</a>' in body
    assert f'href="?store={store.pk}&amp;period=2026-Q2">2026-Q2 ›</a>' in body


def test_page_and_api_run_a_fixed_number_of_queries(client, cr_manager, store):
    client.force_login(cr_manager)
    page, api = _url("satisfaction:customer-analysis", store), "/api/v1/customer-analysis/?period=2026-05"
    _load(store, 1)
    few = (_queries(client, page), _queries(client, api))
    _load(store, 8)
    many = (_queries(client, page), _queries(client, api))
    assert few == many
    assert many[0] < 30


def test_list_runs_a_fixed_number_of_queries_and_masks_mobiles(client, cr_manager, store):
    client.force_login(cr_manager)
    url = _url("satisfaction:customer-analysis-list", store, breakdown="sales_interest", key="钓鱼")
    _load(store, 1)
    few = _queries(client, url)
    _load(store, 8)
    assert _queries(client, url) == few
    body = client.get(url).content.decode()
    assert "139****" in body
    assert body.count('href="/customers/') >= 9


def test_list_of_an_unknown_breakdown_is_404(client, cr_manager, store):
    client.force_login(cr_manager)
    url = _url("satisfaction:customer-analysis-list", store, breakdown="nope", key="x")
    assert client.get(url).status_code == 404
    assert client.get(_url("satisfaction:customer-analysis-list", store, breakdown="sales_age",
                           key="abc")).status_code == 404


def test_another_store_is_never_shown(client, store, other_store, other_manager, cr_manager):
    customer(store, source="展厅", visits=[date(2026, 5, 3)])
    customer(other_store, source="车展", visits=[date(2026, 5, 3)])
    client.force_login(other_manager)
    for name in ("satisfaction:customer-analysis", "satisfaction:customer-analysis-list",
                 "satisfaction:customer-analysis-export"):
        assert client.get(_url(name, store, breakdown="sales_source", key="展厅")).status_code == 404
    assert client.get(f"/api/v1/customer-analysis/?store={store.pk}&period=2026-05").status_code == 404
    own = client.get(_url("satisfaction:customer-analysis", other_store))
    assert rows(own.context["data"], "sales_source") == {"车展": 1}
    listed = client.get(_url("satisfaction:customer-analysis-list", other_store,
                             breakdown="service_origin", key="own"))
    assert [c.store_id for c in listed.context["page"]] == [other_store.pk]
    client.force_login(cr_manager)
    mine = client.get(_url("satisfaction:customer-analysis", store))
    assert rows(mine.context["data"], "sales_source") == {"展厅": 1}


def test_page_reads_the_stored_summary_once_refreshed(client, cr_manager, store):
    _load(store, 2)
    client.force_login(cr_manager)
    url = _url("satisfaction:customer-analysis", store)
    live = client.get(url).context["data"]
    assert live.computed_at is None
    response = client.post(reverse("satisfaction:customer-analysis-refresh"),
                           {"store": store.pk, "period": "2026-05"})
    assert response.status_code == 302
    stored = client.get(url).context["data"]
    assert stored.computed_at is not None
    for code in ("sales_age", "service_origin", "service_frequency", "service_status", "sales_interest"):
        assert stored.get(code).rows == live.get(code).rows
    few = _queries(client, url)
    _load(store, 5)
    services.customer_analysis_refresh(store_ids=[store.pk], spans=[MAY])
    assert _queries(client, url) == few
    assert client.get(url).context["data"].service_customers == 7


def test_refresh_job_keeps_this_month_quarter_and_year(store):
    customer(store, delivered=date(2026, 6, 2))
    assert services.customer_analysis_refresh(store_ids=[store.pk]) == 4
    periods = set(CustomerAnalysisSnapshot.objects.values_list("period", flat=True))
    assert periods == {"2026-06", "2026-05", "2026-Q2", "2026"}
    assert services.customer_analysis_refresh(store_ids=[store.pk]) == 4
    assert CustomerAnalysisSnapshot.objects.count() == 4


def test_export_csv_and_xlsx(client, cr_manager, store):
    customer(store, source="=HYPERLINK(1)")
    customer(store, source="展厅")
    client.force_login(cr_manager)
    response = client.get(_url("satisfaction:customer-analysis-export", store, breakdown="sales_source",
                               format="csv"))
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["来源渠道", "'=HYPERLINK(1)", "1", "50.0"] in lines
    workbook = load_workbook(io.BytesIO(client.get(_url("satisfaction:customer-analysis-export",
                                                         store)).content))
    assert len(workbook.sheetnames) == 13
    values = [cell.value for row in workbook.worksheets[0].iter_rows() for cell in row]
    assert "'=HYPERLINK(1)" in values


def test_api_returns_every_breakdown(client, cr_manager, store):
    customer(store, born=date(2001, 5, 31), visits=[date(2026, 5, 3)])
    client.force_login(cr_manager)
    body = client.get("/api/v1/customer-analysis/?period=2026-05").json()
    assert body["store"] == store.pk and body["end"] == "2026-05-31" and body["lapsed_after_days"] == 180
    ages = next(b for b in body["breakdowns"] if b["code"] == "sales_age")
    assert {r["label"]: r["count"] for r in ages["rows"]}["25-34岁"] == 1
    assert client.get("/api/v1/customer-analysis/?period=2026-Q9").status_code == 400
    assert client.get("/api/v1/customer-bands/").status_code == 200


def test_who_may_see_it(client, make_user, store):
    for role in (Role.CR_MANAGER, Role.GENERAL_MANAGER, Role.SALES_MANAGER, Role.SERVICE_MANAGER):
        client.force_login(make_user(role, store))
        assert client.get(_url("satisfaction:customer-analysis", store)).status_code == 200
    client.force_login(make_user(Role.CALLER, store))
    assert client.get(_url("satisfaction:customer-analysis", store)).status_code == 403
    assert client.get("/api/v1/customer-analysis/").status_code == 403


def test_english_page(client, cr_manager, store):
    customer(store, visits=[date(2026, 5, 3)])
    client.force_login(cr_manager)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    try:
        response = client.get(_url("satisfaction:customer-analysis", store))
    finally:
        translation.activate(settings.LANGUAGE_CODE)  # the request left English active
    assert response.status_code == 200
    body = response.content.decode()
    assert "Customer analysis" in body and "Bought here" in body and "Lapsed customers" in body
