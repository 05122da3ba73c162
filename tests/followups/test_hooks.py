"""The floors react to each other through explicit hook lists registered in
AppConfig.ready(), never through model signals: recording a visit closes the car's
cycles (form, API and DMS import alike); a raw row saved beside the services does not."""

from datetime import timedelta

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from crm_site.roles import Role
from customers import hooks as customer_hooks
from customers.services import service_visit_record
from followups import hooks
from followups.models import Task

from .factories import ServiceVisitFactory, VehicleFactory
from .helpers import MON, plan

pytestmark = pytest.mark.django_db


def _open_call(store):
    car = VehicleFactory(store=store, next_service_due_on=MON + timedelta(days=7))
    plan(MON)
    return car, Task.objects.get(vehicle=car, offset_days=-7)


def test_followups_registers_its_visit_hook_once():
    from django.apps import apps

    apps.get_app_config("followups").ready()  # a second ready() adds nothing
    assert customer_hooks.visit_recorded.functions().count(hooks.visit_recorded) == 1


def test_the_registry_is_what_closes_the_cycle(store, caller, monkeypatch,
                                               django_capture_on_commit_callbacks):
    car, task = _open_call(store)
    monkeypatch.setattr(customer_hooks.visit_recorded, "_functions", [])
    with django_capture_on_commit_callbacks(execute=True):
        service_visit_record(vehicle=car, repair_type="periodic_service", date_in=MON)
    task.refresh_from_db()
    assert task.status == "planned"  # no hook, no reaction
    monkeypatch.setattr(customer_hooks.visit_recorded, "_functions", [hooks.visit_recorded])
    with django_capture_on_commit_callbacks(execute=True):
        service_visit_record(vehicle=car, repair_type="repair", date_in=MON)
    task.refresh_from_db()
    assert (task.status, task.cancel_reason) == ("cancelled", "came_in")


def test_a_raw_visit_row_has_no_business_effect(store, caller, django_capture_on_commit_callbacks):
    car, task = _open_call(store)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ServiceVisitFactory(vehicle=car, date_in=MON)
    assert callbacks == []
    task.refresh_from_db()
    assert task.status == "planned"


def test_hook_runs_inside_the_visit_transaction_and_twice_changes_nothing(store, caller):
    car, task = _open_call(store)
    visit = service_visit_record(vehicle=car, repair_type="periodic_service", date_in=MON)
    task.refresh_from_db()
    assert (task.status, task.cancel_reason) == ("cancelled", "came_in")
    with transaction.atomic():
        hooks.visit_recorded(visit)  # the same visit again
    task.refresh_from_db()
    assert (task.status, task.cancel_reason) == ("cancelled", "came_in")
    assert Task.objects.filter(vehicle=car, status="cancelled").count() == \
        Task.objects.filter(vehicle=car).exclude(status="planned").count()


def test_a_visit_pushed_through_the_api_closes_the_cycle(store, make_user,
                                                         django_capture_on_commit_callbacks):
    car, task = _open_call(store)
    client = APIClient()
    client.force_authenticate(make_user(Role.SERVICE_MANAGER, store))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/service-visits/", {
            "vehicle": car.pk, "repair_type": "periodic_service",
            "date_in": MON.isoformat()}, format="json")
    assert response.status_code == 201, response.json()
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_a_visit_imported_from_the_dms_closes_the_cycle(store, cr_manager):
    from crm_site import imports
    from tests.customers.factories import make_vin
    from tests.imports import run_import

    car, task = _open_call(store)
    car.vin = make_vin(7)
    car.save(update_fields=["vin"])
    rows = "\n".join([",".join(["车架号", "进厂日期", "维修类型", "工单号"]),
                      ",".join([car.vin, MON.isoformat(), "定期保养", "WX9"])]).encode()
    job = run_import(kind="visits", store=store, actor=cr_manager, content=rows, commit=False)
    assert job.status == "checked", job.errors
    task.refresh_from_db()
    assert task.status == "planned"  # a dry run changes nothing
    imports.job_commit(job=job, actor=cr_manager)
    job = imports.job_run(job.pk, commit=True)
    assert job.status == "committed", job.errors
    task.refresh_from_db()
    assert task.status == "cancelled"
