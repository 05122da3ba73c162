"""Another store's record is not there: every URL that takes an id answers 404 for a row
of another store (pages and API detail routes, generated from the URL patterns), lists
never show it, exports never include it, and its uploaded files answer 404."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# URL name -> {argument: model label, or a fixed value for non-id arguments}. A new route
# with an id must be added here (test_every_route_with_an_id_is_covered says so).
PAGES = {
    "customers:detail": {"pk": "customers.Customer"},
    "customers:edit": {"pk": "customers.Customer"},
    "customers:history": {"pk": "customers.Customer"},
    "customers:reveal": {"pk": "customers.Customer", "field": "mobile"},
    "customers:consent": {"pk": "customers.Customer"},
    "customers:family-add": {"pk": "customers.Customer"},
    "customers:family-remove": {"pk": "customers.FamilyMember.customer_id",
                                "member_pk": "customers.FamilyMember"},
    "customers:vehicle-create": {"pk": "customers.Customer"},
    "customers:correction-create": {"pk": "customers.Customer"},
    "customers:vehicle-detail": {"pk": "customers.Vehicle"},
    "customers:vehicle-edit": {"pk": "customers.Vehicle"},
    "customers:vehicle-record": {"pk": "customers.Vehicle", "kind": "sale"},
    "customers:vehicle-transfer": {"pk": "customers.Vehicle"},
    "customers:correction-detail": {"pk": "customers.CorrectionRequest"},
    "customers:correction-decide": {"pk": "customers.CorrectionRequest", "action": "reject"},
    "customers:merge-undo": {"pk": "customers.CustomerMerge"},
    "followups:task": {"pk": "followups.Task"},
    "followups:task-outcome": {"pk": "followups.Task"},
    "followups:campaign": {"pk": "followups.Campaign"},
    "followups:class": {"pk": "followups.CareClass"},
    "followups:invitation": {"pk": "followups.ClassInvitation"},
    "complaints:detail": {"pk": "complaints.Complaint"},
    "complaints:attach": {"pk": "complaints.Complaint"},
    "complaints:act": {"pk": "complaints.Complaint", "action": "respond"},
    "inspections:inspection": {"pk": "inspections.Inspection"},
    "inspections:inspection-start": {"pk": "inspections.Inspection"},
    "inspections:inspection-complete": {"pk": "inspections.Inspection"},
    "inspections:result-answer": {"pk": "inspections.InspectionResult"},
    "inspections:result-photo": {"pk": "inspections.InspectionResult"},
    "inspections:rectification": {"pk": "inspections.Rectification"},
    "inspections:rectification-fix": {"pk": "inspections.Rectification"},
    "inspections:rectification-verify": {"pk": "inspections.Rectification"},
    "inspections:checklist-edit": {"pk": "inspections.ChecklistTemplate"},
    "inspections:checklist-item-add": {"template_pk": "inspections.ChecklistTemplate"},
    "inspections:checklist-item-edit": {"pk": "inspections.ChecklistItem"},
    "satisfaction:report-detail": {"pk": "satisfaction.ManufacturerReport"},
    "satisfaction:plan-detail": {"pk": "satisfaction.ImprovementPlan"},
    "satisfaction:plan-advance": {"pk": "satisfaction.ImprovementPlan"},
    "satisfaction:plan-approve": {"pk": "satisfaction.ImprovementPlan"},
    "satisfaction:plan-close": {"pk": "satisfaction.ImprovementPlan"},
    "satisfaction:countermeasure-add": {"pk": "satisfaction.ImprovementPlan"},
    "satisfaction:countermeasure-done": {"pk": "satisfaction.Countermeasure.plan_id",
                                         "cm": "satisfaction.Countermeasure"},
    "satisfaction:meeting-detail": {"pk": "satisfaction.AnalysisMeeting"},
    "satisfaction:check-detail": {"pk": "satisfaction.MysteryShopCheck"},
    "staff-edit": {"pk": "staff:caller"},
    "customers:data-export": {"pk": "customers.Customer"},
    "customers:erase": {"pk": "customers.Customer"},
    "satisfaction:team-member": {"pk": "staff:caller"},
    "satisfaction:team-training-detail": {"pk": "satisfaction.TrainingSession"},
    "satisfaction:team-plan-update": {"pk": "satisfaction.TrainingPlan"},
    "followups:lounge-preference": {"pk": "followups.LoungeVisit"},
    "followups:club-leave": {"pk": "followups.ClubMember"},
    "followups:lounge-depart": {"pk": "followups.LoungeVisit"},
    "import-detail": {"pk": "crm_site.ImportJob"},
    "import-status": {"pk": "crm_site.ImportJob"},
    "import-confirm": {"pk": "crm_site.ImportJob"},
    "import-errors": {"pk": "crm_site.ImportJob"},
}
# API router basenames -> the model of their detail routes.
API = {
    "store": "crm_site.Store", "message": "crm_site.Message", "customer": "customers.Customer",
    "vehicle": "customers.Vehicle", "sale": "customers.Sale",
    "service-visit": "customers.ServiceVisit", "insurance-policy": "customers.InsurancePolicy",
    "customer-merge": "customers.CustomerMerge", "followup-task": "followups.Task",
    "appointment": "followups.Appointment", "complaint": "complaints.Complaint",
    "checklist": "inspections.ChecklistTemplate", "inspection": "inspections.Inspection",
    "rectification": "inspections.Rectification", "target": "satisfaction.Target",
    "improvement-plan": "satisfaction.ImprovementPlan",
    "correction-request": "customers.CorrectionRequest",
    "training-plan": "satisfaction.TrainingPlan", "training-session": "satisfaction.TrainingSession",
    "one-to-one-talk": "satisfaction.OneToOneTalk", "incentive-rule": "satisfaction.IncentiveRule",
    "staff-greeting": "satisfaction.StaffGreeting",
    "lounge-visit": "followups.LoungeVisit", "lounge-preference": "followups.LoungePreference.customer_id",
    "club-member": "followups.ClubMember", "club-activity": "followups.ClubActivity",
    "sla-policy": "complaints.SlaPolicy", "check-time": "inspections.RoundRule",
    "fix-minutes": "inspections.DeadlinePolicy",
}
# Routes whose id is not a store's record: rules shared by every store (programmes, steps,
# the customer analysis' bands),
# the group's score files (one file covers several stores), the user's own notifications.
NOT_STORE_OWNED = {"followups:programme", "followups:step", "followups:step-create",
                   "followups:step-remove", "satisfaction:import-detail",
                   "v1:programme-detail", "v1:score-import-detail", "v1:notification-detail",
                   "v1:notification-read", "v1:customer-band-detail",
                   "calendar-year-edit", "v1:calendar-year-detail"}


# Gaps found in routes that landed last and are not fixed yet (URL name -> reason; strict:
# a fix must remove them).
KNOWN_GAPS = {}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + str(entry.pattern), namespace + entry.name, entry


ID_ARGUMENT = re.compile(r"<int:(\w+)>|\(\?P<(\w+)>(?:\[\^/\.\]\+|\\d\+)\)")


def routes_with_ids():
    out = []
    for route, name, _entry in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or "format" in route:
            continue
        arguments = [a or b for a, b in ID_ARGUMENT.findall(route)]
        if arguments:
            out.append((route, name, arguments))
    return out


def _fill(world, route, values):
    def one(match):
        name = match.group(1) or match.group(2) or match.group(3)
        return values[name]
    url = re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\(\?P<(\w+)>\\d\+\)", one, route)
    return "/" + url.replace("^", "").replace("$", "")


def _value(world, spec, store):
    if spec.startswith("staff:"):
        return str(world.other_staff[spec.split(":", 1)[1]].pk)
    parts = spec.split(".")
    if len(parts) < 2 or not parts[1][:1].isupper():
        return spec  # a fixed value (a field name, an action)
    row = world.row(".".join(parts[:2]), store)
    assert row is not None, f"the access world has no {spec} in {store}: add one in world.py"
    return str(getattr(row, parts[2] if len(parts) > 2 else "pk"))


def _api_basename(name):
    return name.split(":", 1)[1].rsplit("-", 1)[0] if name.startswith("v1:") else None


def _cases():
    cases = []
    for route, name, arguments in routes_with_ids():
        if name in NOT_STORE_OWNED:
            continue
        if name.startswith("v1:"):
            basename = name[3:]
            for suffix in ("-detail", "-items", "-change-item"):
                basename = basename.removesuffix(suffix)
            # The longest basename that names the route: customer-merge, not customer.
            base = max((b for b in API if name[3:].startswith(b + "-")), key=len, default=None)
            spec = {arguments[0]: API[base]} if base else None
            if spec is not None and "item_id" in arguments:
                spec = {"pk": API[base], "item_id": "inspections.ChecklistItem"}
        else:
            spec = PAGES.get(name)
        marks = [pytest.mark.xfail(reason=KNOWN_GAPS[name], strict=True)] if name in KNOWN_GAPS else []
        cases.append(pytest.param(route, name, spec, id=name, marks=marks))
    return cases


def test_every_route_with_an_id_is_covered():
    missing = [name for _route, name, _args in routes_with_ids()
               if name not in NOT_STORE_OWNED and name not in PAGES
               and not any(name[3:].startswith(b + "-") for b in API)]
    assert not missing, f"add these routes to PAGES / API in {__file__}: {missing}"


@pytest.mark.parametrize(("route", "name", "spec"), _cases())
def test_another_stores_record_answers_404(world, route, name, spec):
    assert spec is not None, f"{name} is not described in PAGES / API"
    client = Client()
    client.force_login(world.everything)  # every role, in store A only
    values = {arg: _value(world, value, world.other_store) for arg, value in spec.items()}
    url = _fill(world, route, values)
    api = name.startswith("v1:")
    response = client.get(url, HTTP_ACCEPT="application/json") if api else client.get(url)
    for method in ("post", "patch"):
        if response.status_code != 405:
            break
        response = getattr(client, method)(url, data="{}", content_type="application/json")
    assert response.status_code == 404, (url, response.status_code)
    # ...and the same route answers for store A's row (the 404 above is about the store).
    own = _fill(world, route, {arg: _value_own(world, value) for arg, value in spec.items()})
    again = client.get(own, HTTP_ACCEPT="application/json") if api else client.get(own)
    assert again.status_code != 404, own


def _value_own(world, spec):
    if spec.startswith("staff:"):
        return str(world.staff[spec.split(":", 1)[1]].pk)
    return _value(world, spec, world.store)


LIST_PAGES = ["/customers/", "/customers/corrections/", "/complaints/", "/followups/",
              "/followups/plan/", "/followups/appointments/", "/inspections/rectifications/",
              "/satisfaction/plans/", "/satisfaction/checks/", "/messages/", "/staff/"]


@pytest.fixture
def marked(world):
    """A customer and a complaint of store B with a name no other row has."""
    from complaints.models import Complaint
    from customers.models import Customer

    customer = world.row("customers.Customer", world.other_store)
    Customer.objects.filter(pk=customer.pk).update(name="别店标记客户")
    Complaint.objects.filter(customer=customer).update(description="别店标记投诉")
    return "别店标记"


@pytest.mark.parametrize("url", LIST_PAGES)
def test_lists_never_show_another_stores_rows(world, marked, url):
    client = Client()
    client.force_login(world.everything)
    response = client.get(url)
    assert response.status_code == 200, url
    assert marked not in response.content.decode()


def test_api_lists_hold_only_the_users_stores(world, marked):
    from crm_site.api_urls import router

    client = Client()
    client.force_login(world.everything)
    lists = sorted({f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry})
    for url in lists:
        response = client.get(url, HTTP_ACCEPT="application/json")
        if response.status_code == 400:  # a report that needs its parameters (a period)
            continue
        assert response.status_code == 200, url
        body = response.json()
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        stores = {row["store"] for row in rows if isinstance(row, dict) and "store" in row}
        assert stores <= {world.store.pk, None}, (url, stores)  # None: a group-wide default
        assert marked not in response.content.decode(), url
    found = client.get("/api/v1/customers/", {"q": marked}).json()
    assert found["results"] == []


def test_exports_never_include_another_store(world):
    client = Client()
    client.force_login(world.everything)
    assert client.get("/satisfaction/export/monthly/",
                      {"store": world.other_store.pk}).status_code == 404
    own = client.get("/satisfaction/export/monthly/")
    assert own.status_code == 200
    assert world.store.code in own["Content-Disposition"]
    assert world.other_store.code not in own["Content-Disposition"]


# Uploaded files ---------------------------------------------------------------------------------

def _files(world, store):
    from complaints.models import ComplaintAttachment
    from inspections.models import Photo

    photo = Photo.objects.filter(result__inspection__store=store).order_by("pk").first()
    attachment = ComplaintAttachment.objects.filter(complaint__store=store).order_by("pk").first()
    return [f"/media/{photo.image.name}", f"/media/{attachment.file.name}"]


def test_uploaded_files_only_for_who_may_see_their_record(world):
    ours, theirs = _files(world, world.store), _files(world, world.other_store)
    manager = Client()
    manager.force_login(world.staff["cr_manager"])
    for url in ours:
        response = manager.get(url)
        assert response.status_code == 200, url
        b"".join(response.streaming_content)
    for url in theirs:  # the right file name, another store: not there
        assert manager.get(url).status_code == 404, url
    other_manager = Client()
    other_manager.force_login(world.other_staff["cr_manager"])
    for url in theirs:
        assert other_manager.get(url).status_code == 200, url
    from django.contrib.auth.models import Group

    from crm_site.models import User

    attendant = User.objects.create_user(username="new-attendant")  # responsible for nothing
    attendant.groups.add(Group.objects.get(name="lounge_attendant"))
    attendant.stores.add(world.store)
    lounge = Client()  # neither the round nor the complaint is the lounge's to see
    lounge.force_login(attendant)
    for url in ours:
        assert lounge.get(url).status_code == 404, url
    anonymous = Client().get(ours[0])
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.parametrize("path", ["/media/unknown/file.jpg", "/media/../crm_site/settings/base.py",
                                  "/media/inspections/2026/01/01/nothing.jpg"])
def test_files_no_record_owns_answer_404(world, path):
    client = Client()
    client.force_login(world.everything)
    assert client.get(path).status_code == 404


def test_behind_a_proxy_the_file_is_sent_by_x_accel_redirect(world, settings):
    settings.MEDIA_ACCEL_REDIRECT = "/protected-media/"
    client = Client()
    client.force_login(world.staff["cr_manager"])
    url = _files(world, world.store)[0]
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/" + url.removeprefix("/media/")
    assert response["Content-Type"] == "image/jpeg"
    assert client.get(_files(world, world.other_store)[0]).status_code == 404
