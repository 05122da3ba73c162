"""Names and notes with <script>, quotes and emoji show as text everywhere: lists, detail
pages, the worklist, the complaints board, inspections and the chart pages (whose data
goes through json_script), and the monthly export keeps them as plain text."""

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db

PAYLOAD = """<script>alert("x")</script>'"😀"""
LIVE = "<script>alert("
AS_HTML = "&lt;script&gt;alert("
AS_JSON = "\\u003Cscript\\u003Ealert("


@pytest.fixture
def hostile(world):
    """Store A's rows (the first of each) carry the payload in their names and notes."""
    from complaints.models import Complaint
    from crm_site.models import Store, User
    from customers.models import Customer
    from followups.models import Task
    from inspections.models import InspectionResult, Rectification
    from satisfaction.models import ImprovementPlan

    store = world.store
    Store.objects.filter(pk=store.pk).update(name=PAYLOAD)
    User.objects.filter(stores=store).update(first_name=PAYLOAD)
    complaint = world.row("complaints.Complaint")
    Customer.objects.filter(store=store).update(name=PAYLOAD)
    Complaint.objects.filter(store=store).update(description=PAYLOAD)
    Task.objects.filter(store=store).update(notes=PAYLOAD)
    InspectionResult.objects.filter(inspection__store=store).update(note=PAYLOAD)
    Rectification.objects.filter(store=store).update(fix_note=PAYLOAD)
    ImprovementPlan.objects.filter(store=store).update(title=PAYLOAD)
    rows = {"customer": world.row("customers.Customer").pk, "complaint": complaint.pk,
            "inspection": world.row("inspections.InspectionResult").inspection_id,
            "rectification": world.row("inspections.Rectification").pk,
            "plan": world.row("satisfaction.ImprovementPlan").pk,
            "task": world.row("followups.Task").pk}
    client = Client()
    client.force_login(world.everything)
    return client, rows


PAGES = [
    "/customers/", "/customers/{customer}/", "/customers/{customer}/history/",
    "/complaints/", "/complaints/{complaint}/", "/complaints/report/",
    "/followups/", "/followups/tasks/{task}/", "/followups/plan/",
    "/inspections/", "/inspections/rounds/{inspection}/", "/inspections/rectifications/",
    "/inspections/rectifications/{rectification}/", "/inspections/dashboard/",
    "/satisfaction/", "/satisfaction/plans/", "/satisfaction/plans/{plan}/", "/staff/",
]


@pytest.mark.parametrize("url", PAGES)
def test_payload_shows_as_text(hostile, url):
    client, rows = hostile
    response = client.get(url.format(**rows))
    assert response.status_code == 200, url
    html = response.content.decode()
    assert LIVE not in html, f"{url}: the payload is a live tag"
    assert AS_HTML in html or AS_JSON in html, f"{url}: the payload is not shown at all"


@pytest.mark.parametrize("url", ["/satisfaction/", "/inspections/dashboard/"])
def test_chart_data_is_escaped_json(hostile, url):
    client, _rows = hostile
    html = client.get(url).content.decode()
    script = html[html.index('type="application/json"'):]
    script = script[:script.index("</script>")]
    assert "<script" not in script and "</" not in script


def test_api_returns_the_payload_as_data(hostile):
    client, rows = hostile
    body = client.get(f"/api/v1/customers/{rows['customer']}/").json()
    assert body["name"] == PAYLOAD


def test_export_keeps_the_payload_as_plain_text(hostile):
    client, _rows = hostile
    response = client.get("/satisfaction/export/monthly/")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    values = [cell.value for sheet in book for row in sheet.iter_rows() for cell in row
              if isinstance(cell.value, str)]
    assert PAYLOAD in " ".join(values) or any(PAYLOAD in v for v in values)
    assert not any(v.startswith("=") for v in values)
