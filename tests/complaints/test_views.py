"""The complaint pages: board, complaint page and its actions, quick log, reports."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import Complaint
from crm_site.roles import Role

from .conftest import T0
from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm_client(client, staff, clock):
    client.force_login(staff["crm"])
    return client


def test_board_shows_open_complaints_with_countdowns(crm_client, open_complaint, clock):
    complaint = open_complaint()
    clock.move_to(T0 + timedelta(minutes=25))
    response = crm_client.get(reverse("complaints:board"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="warning"' in html
    assert f'data-due="{timezone.localtime(T0 + timedelta(minutes=30)).isoformat()}"' in html
    assert "complaints/countdown.js" in html
    assert f'href="{reverse("complaints:detail", args=[complaint.pk])}"' in html


def test_board_state_filter_and_colours(crm_client, open_complaint, staff, clock):
    breached = open_complaint()
    clock.move_to(T0 + timedelta(minutes=40))
    fresh = open_complaint()
    crm_client.force_login(staff["crm"])  # sessions expire after 30 idle minutes
    response = crm_client.get(reverse("complaints:board"), {"state": "breached"})
    rows = response.context["rows"]
    assert [row["id"] for row in rows] == [breached.pk]
    assert rows[0]["state"] == "breached"
    response = crm_client.get(reverse("complaints:board"), {"state": "in_time"})
    assert [row["id"] for row in response.context["rows"]] == [fresh.pk]


def test_board_and_api_filter_through_one_filterset(crm_client, open_complaint, staff, clock,
                                                    other_store):
    """The board page and /api/v1/complaints/ read the same filters: the same rows for the
    same query; a bad value is a 400 in the API and a named warning on the page, which
    lists the rows of the other filters; page 2 keeps the filters."""
    from rest_framework.test import APIClient

    breached = open_complaint()
    clock.move_to(T0 + timedelta(minutes=40))
    open_complaint()
    crm_client.force_login(staff["crm"])
    api = APIClient()
    api.force_authenticate(staff["crm"])
    query = {"state": "breached", "severity": breached.severity}
    page_ids = [row["id"] for row in crm_client.get(reverse("complaints:board"), query)
                .context["rows"]]
    api_ids = [row["id"] for row in api.get("/api/v1/complaints/", query).json()["results"]]
    assert page_ids == api_ids == [breached.pk]
    assert api.get("/api/v1/complaints/", {"state": "late"}).status_code == 400
    assert api.get("/api/v1/complaints/", {"store": other_store.pk}).status_code == 400
    response = crm_client.get(reverse("complaints:board"), {"state": "late", "store": other_store.pk})
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html and "时限状态" in html
    assert len(response.context["rows"]) == 2  # the bad filters left out, not an empty list


def test_my_complaints_and_filters(client, open_complaint, staff, make_user, store):
    mine = open_complaint()
    other_owner = make_user(Role.CALLER, store)
    open_complaint(owner=other_owner, severity="important", important_reasons="A")
    client.force_login(staff["caller"])
    response = client.get(reverse("complaints:mine"))
    assert [row["id"] for row in response.context["rows"]] == [mine.pk]
    response = client.get(reverse("complaints:board"), {"severity": "important"})
    assert [row["owner"] for row in response.context["rows"]] == [str(other_owner)]


def test_board_query_count_is_fixed(crm_client, open_complaint, customer, store,
                                    django_assert_num_queries,
                                    django_assert_max_num_queries, clock):
    open_complaint()
    crm_client.get(reverse("complaints:board"))  # warm caches (content types, perms)
    with django_assert_max_num_queries(50) as one:
        crm_client.get(reverse("complaints:board"))
    for index in range(19):
        other = CustomerFactory(store=store)
        open_complaint(customer=other, department="service" if index % 2 else "sales")
    with django_assert_num_queries(len(one.captured_queries)):
        response = crm_client.get(reverse("complaints:board"))
    assert len(response.context["rows"]) == 20


def test_another_stores_complaint_is_404_and_not_listed(client, open_complaint, make_user,
                                                        other_store):
    complaint = open_complaint()
    stranger = make_user(Role.CR_MANAGER, other_store)
    client.force_login(stranger)
    assert client.get(reverse("complaints:detail", args=[complaint.pk])).status_code == 404
    response = client.post(reverse("complaints:act", args=[complaint.pk, "respond"]),
                           {"respond-channel": "phone", "respond-note": "x"})
    assert response.status_code == 404
    assert client.get(reverse("complaints:board")).context["rows"] == []
    complaint.refresh_from_db()
    assert complaint.responded_at is None


def test_complaint_page_offers_the_next_action(crm_client, open_complaint):
    complaint = open_complaint()
    response = crm_client.get(reverse("complaints:detail", args=[complaint.pk]))
    assert response.status_code == 200
    assert response.context["next_action"]["name"] == "respond"
    assert 'data-testid="next-action"' in response.content.decode()


def test_action_post_runs_the_service(crm_client, open_complaint, clock):
    complaint = open_complaint()
    clock.move_to(T0 + timedelta(minutes=29, seconds=59))
    response = crm_client.post(reverse("complaints:act", args=[complaint.pk, "respond"]),
                               {"respond-channel": "phone", "respond-note": "已致歉"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.responded_at == T0 + timedelta(minutes=29, seconds=59)
    assert complaint.clock_states(T0 + timedelta(hours=1))["response"] == "in_time"


def test_htmx_action_redirects_and_errors_swap_the_panel(crm_client, open_complaint):
    complaint = open_complaint()
    url = reverse("complaints:act", args=[complaint.pk, "respond"])
    response = crm_client.post(url, {"respond-channel": "phone", "respond-note": ""},
                               HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="complaint-panel"' in response.content.decode()
    assert response.context["actions"][0]["form"].errors
    response = crm_client.post(url, {"respond-channel": "phone", "respond-note": "好"},
                               HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == reverse("complaints:detail", args=[complaint.pk])


def test_service_errors_show_on_the_form(crm_client, open_complaint, clock):
    complaint = open_complaint()
    future = timezone.localtime(T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    response = crm_client.post(reverse("complaints:act", args=[complaint.pk, "respond"]),
                               {"respond-channel": "phone", "respond-note": "x",
                                "respond-contacted_at": future})
    assert response.status_code == 200
    form = response.context["actions"][0]["form"]
    assert "contacted_at" in form.errors


def test_department_feedback_needs_its_permission(client, open_complaint, staff):
    complaint = open_complaint()
    services.complaint_respond(actor=staff["caller"], complaint=complaint, channel="phone",
                               note="x")
    services.complaint_hand_off(actor=staff["caller"], complaint=complaint, department="service")
    client.force_login(staff["caller"])
    url = reverse("complaints:act", args=[complaint.pk, "department_feedback"])
    assert client.post(url, {"department_feedback-feedback": "x"}).status_code == 403
    client.force_login(staff["svc"])
    assert client.post(url, {"department_feedback-feedback": "已处理"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.FEEDBACK


def test_quick_log_from_the_customer_page(client, staff, customer, vehicle, clock):
    client.force_login(staff["caller"])
    url = reverse("complaints:create") + f"?customer={customer.pk}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["customer"] == customer
    response = client.post(url, {"customer": customer.pk, "vehicle": vehicle.pk,
                                 "channel": "phone", "category": "attitude",
                                 "description": "顾问态度差", "severity": "important",
                                 "important_reasons": ["C"]})
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("complaints:detail", args=[complaint.pk])
    assert complaint.important_reasons == "C" and complaint.vehicle == vehicle


def test_quick_log_errors_name_the_field_and_save_nothing(client, staff, customer, clock):
    client.force_login(staff["caller"])
    url = reverse("complaints:create") + f"?customer={customer.pk}"
    future = timezone.localtime(T0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"customer": customer.pk, "channel": "phone",
                                 "category": "attitude", "description": "x",
                                 "severity": "general", "received_at": future})
    assert response.status_code == 200
    assert "received_at" in response.context["form"].errors
    assert not Complaint.objects.exists()


def test_quick_log_refuses_a_foreign_customer(client, staff, foreign_customer):
    client.force_login(staff["caller"])
    response = client.get(reverse("complaints:create") + f"?customer={foreign_customer.pk}")
    assert response.status_code == 404


def test_quick_log_finds_customers(client, staff, customer, foreign_customer):
    client.force_login(staff["caller"])
    response = client.get(reverse("complaints:create"), {"q": customer.mobile[:7]})
    assert customer in response.context["matches"]
    response = client.get(reverse("complaints:create"), {"q": "李四"})
    assert response.context["matches"] == []


def test_report_percentages(crm_client, open_complaint, staff, clock):
    on_time = open_complaint(department="service")
    clock.move_to(T0 + timedelta(minutes=10))
    services.complaint_respond(actor=staff["caller"], complaint=on_time, channel="phone", note="x")
    clock.move_to(T0 + timedelta(minutes=40))
    late = open_complaint(received_at=T0, department="sales")
    services.complaint_respond(actor=staff["caller"], complaint=late, channel="phone", note="x")
    crm_client.force_login(staff["crm"])  # sessions expire after 30 idle minutes
    response = crm_client.get(reverse("complaints:report"))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert totals["total"] == 2 and totals["response_rate"] == 50.0
    assert totals["repeat_rate"] == 50.0
    by_department = {row["key"]: row for row in response.context["tables"]["department"]}
    assert by_department["service"]["response_rate"] == 100.0
    assert by_department["sales"]["response_rate"] == 0.0
    assert [c.pk for c in response.context["breaches"]] == []


def test_report_needs_its_permission(client, staff):
    client.force_login(staff["caller"])
    assert client.get(reverse("complaints:report")).status_code == 403


def test_complaints_appear_on_the_customer_timeline(open_complaint, customer, staff):
    from customers import timeline

    complaint = open_complaint()
    entries = [e for e in timeline.collect(customer, staff["crm"]) if e.kind == "complaint"]
    assert [e.url for e in entries] == [reverse("complaints:detail", args=[complaint.pk])]


def test_report_average_resolution_leaves_out_paused_time(open_complaint, staff, clock):
    from complaints import selectors

    complaint = services.complaint_respond(actor=staff["caller"], complaint=open_complaint(),
                                           channel="phone", note="x")
    clock.move_to(T0 + timedelta(hours=1))
    services.complaint_pause(actor=staff["caller"], complaint=complaint, reason="等厂家")
    clock.move_to(T0 + timedelta(hours=4))
    services.complaint_resume(actor=staff["caller"], complaint=complaint)
    clock.move_to(T0 + timedelta(hours=5))
    services.complaint_resolve(actor=staff["caller"], complaint=complaint, resolution="好")
    data = selectors.report(staff["crm"], start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert data["totals"]["avg_resolution"] == timedelta(hours=2)
    assert data["totals"]["paused"] == 1 and data["totals"]["resolution_rate"] == 100.0


def test_customer_page_offers_logging_a_complaint_for_that_customer(client, cr_manager, customer):
    client.force_login(cr_manager)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f"/complaints/new/?customer={customer.pk}" in html
    form = client.get(f"/complaints/new/?customer={customer.pk}")
    assert form.status_code == 200
