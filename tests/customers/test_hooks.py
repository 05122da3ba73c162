"""The floors above learn of changes to customer records through explicit hook lists,
called by the services inside their transaction (no signals): consent changed, a
vehicle's ownership ended (sold on or retired), a duplicate merged. A hook that fails
leaves nothing half-saved."""

import pytest
import time_machine
from django.core.exceptions import ValidationError

from customers import hooks, services
from customers.models import ConsentChange, Customer, FamilyMember, Vehicle
from tests.customers.factories import make_customer, make_vehicle
from tests.validation import refused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        yield


@pytest.fixture
def seen(monkeypatch):
    """Each new registry emptied of the real floors' hooks, with one recording hook."""
    calls = []
    monkeypatch.setattr(hooks.consent_changed, "_functions", [])
    monkeypatch.setattr(hooks.ownership_ended, "_functions", [])
    monkeypatch.setattr(hooks.customer_merged, "_functions", [])
    hooks.consent_changed.register(
        lambda customer, changes: calls.append(
            ("consent", customer.pk, sorted((c.channel, c.allowed) for c in changes),
             ConsentChange.objects.filter(customer=customer).count())))
    hooks.ownership_ended.register(
        lambda vehicle, *, retired: calls.append(
            ("vehicle", vehicle.pk, vehicle.customer_id, retired,
             Vehicle.objects.get(pk=vehicle.pk).is_active)))
    return calls


def test_registering_a_hook_twice_adds_it_once():
    def hook(*args, **kwargs):
        pass

    for name in ("visit_recorded", "customer_erased", "consent_changed", "ownership_ended",
                 "customer_merged"):
        registry = getattr(hooks, name)
        before = registry.functions()
        registry.register(hook)
        registry.register(hook)
        assert registry.functions() == [*before, hook]
        registry.unregister(hook)
        assert registry.functions() == before


def test_consent_hooks_hear_each_recorded_change_after_it_is_saved(store, cr_manager, seen):
    customer = make_customer(store, 1)
    assert seen == []  # nothing refused, nothing recorded
    services.customer_set_consent(customer=customer, sms_allowed=True, call_allowed=False,
                                  reason="不接电话", actor=cr_manager)
    services.customer_update(customer=customer, note="只改备注")
    services.customer_set_consent(customer=customer, sms_allowed=False, call_allowed=True,
                                  reason="不要短信", actor=cr_manager)
    refusing = make_customer(store, 2, sms_allowed=False, contact_refusal_reason="不要短信")
    assert seen == [
        ("consent", customer.pk, [("call", False)], 1),
        ("consent", customer.pk, [("call", True), ("sms", False)], 3),
        ("consent", refusing.pk, [("sms", False)], 1),
    ]


def test_a_failing_consent_hook_leaves_the_consent_as_it_was(store, cr_manager, monkeypatch):
    customer = make_customer(store, 1)

    def refuse(customer, changes):
        raise RuntimeError("floor above failed")

    monkeypatch.setattr(hooks.consent_changed, "_functions", [refuse])
    with pytest.raises(RuntimeError):
        services.customer_set_consent(customer=customer, sms_allowed=True, call_allowed=False,
                                      reason="不接电话", actor=cr_manager)
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.call_allowed and not customer.consent_changes.exists()


def test_ownership_hooks_hear_a_car_sold_on_and_a_car_retired(store, seen):
    owner, buyer = make_customer(store, 1), make_customer(store, 2)
    car = make_vehicle(owner, 1)
    services.vehicle_transfer(vehicle=car, customer=owner)  # the same owner: no change
    services.vehicle_transfer(vehicle=car, customer=buyer)
    services.vehicle_retire(vehicle=car)
    assert seen == [("vehicle", car.pk, buyer.pk, False, True),
                    ("vehicle", car.pk, buyer.pk, True, False)]


def test_a_sale_to_another_customer_ends_the_earlier_ownership(store, seen):
    from tests.customers.factories import make_sale

    prospect, buyer = make_customer(store, 1), make_customer(store, 2)
    car = make_vehicle(prospect, 1)
    make_sale(car, customer=buyer)
    assert seen == [("vehicle", car.pk, buyer.pk, False, True)]


def test_a_merge_hook_moves_its_own_rows_and_the_merge_leaves_them(store, cr_manager, seen):
    kept, merged = make_customer(store, 1), make_customer(store, 2, name="客户1",
                                                          allow_duplicate=True)
    stays = FamilyMember.objects.create(customer=merged, relation="child", name="留下")
    moves = FamilyMember.objects.create(customer=merged, relation="spouse", name="搬走")
    calls = []

    def move_one(kept_record, merged_record, moved):
        calls.append((kept_record.pk, merged_record.pk, merged_record.is_active))
        FamilyMember.objects.filter(pk=moves.pk).update(customer=kept_record)
        moved["customers.familymember.customer"] = [moves.pk]

    hooks.customer_merged.register(move_one)
    merge = services.customer_merge(kept=kept, merged=merged, actor=cr_manager)
    assert calls == [(kept.pk, merged.pk, True)]  # before the duplicate is closed
    assert merge.moved["customers.familymember.customer"] == [moves.pk]
    assert FamilyMember.objects.get(pk=stays.pk).customer_id == merged.pk
    assert FamilyMember.objects.get(pk=moves.pk).customer_id == kept.pk
    services.customer_merge_undo(merge=merge, actor=cr_manager)
    assert FamilyMember.objects.get(pk=moves.pk).customer_id == merged.pk


def test_a_failing_merge_hook_merges_nothing(store, cr_manager, seen):
    kept, merged = make_customer(store, 1), make_customer(store, 2)
    car = make_vehicle(merged, 1)

    def refuse(kept_record, merged_record, moved):
        raise ValidationError({"merged": "冲突"})

    hooks.customer_merged.register(refuse)
    with refused("merged", "冲突"):
        services.customer_merge(kept=kept, merged=merged, actor=cr_manager)
    car.refresh_from_db()
    merged.refresh_from_db()
    assert car.customer_id == merged.pk and merged.is_active and merged.merged_into is None
