"""Writes of the customer records: validation, due dates, history, merge, corrections."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from crm_site.models import Notification
from customers import services
from customers.models import (
    CorrectionRequest,
    Customer,
    FamilyMember,
    PersonalDataReveal,
    ServiceRule,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from tests.customers.factories import (
    make_credit_code,
    make_customer,
    make_id_number,
    make_sale,
    make_vehicle,
    make_vin,
)
from tests.validation import refused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        yield


# Customers -------------------------------------------------------------------------------------

def test_create_normalises_and_derives_birth_and_gender(store):
    customer = services.customer_create(store=store, name=" 王伟 ", mobile="+86 139-0000-0001",
                                        id_number=make_id_number(date(1985, 6, 15), male=False).lower())
    assert customer.name == "王伟"
    assert customer.mobile == "13900000001"
    assert customer.birth_date == date(1985, 6, 15)
    assert customer.gender == "female"
    assert customer.history.count() == 1


def test_create_collects_every_bad_field_and_saves_nothing(store):
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="", mobile="12345", id_number="123",
                                 email="not-an-email", birth_date=date(2030, 1, 1))
    assert set(error.value.message_dict) >= {"name", "mobile", "id_number", "email", "birth_date"}
    assert Customer.objects.count() == 0


def test_id_number_must_agree_with_entered_birth_date(store):
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="李娜", mobile="13900000002",
                                 birth_date=date(1985, 6, 16),
                                 id_number=make_id_number(date(1985, 6, 15)))
    assert "id_number" in error.value.message_dict


def test_company_takes_a_credit_code_not_an_id(store):
    company = services.customer_create(store=store, name="申通物流", kind="company",
                                       credit_code=make_credit_code(3), landline="021-58880001")
    assert company.is_company and company.credit_code == make_credit_code(3)
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="申通物流2", kind="company", mobile="13900000003",
                                 id_number=make_id_number())
    assert "id_number" in error.value.message_dict


def test_private_customer_needs_a_phone(store):
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="无电话")
    assert "mobile" in error.value.message_dict


def test_duplicate_mobile_detected_on_create_unless_confirmed(store, other_store):
    first = make_customer(store, 1)
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="另一人", mobile=first.mobile)
    assert "mobile" in error.value.message_dict
    assert str(first.pk) in error.value.message_dict["mobile"][0]
    services.customer_create(store=store, name="另一人", mobile=first.mobile, allow_duplicate=True)
    # another store's customer is not a duplicate here
    services.customer_create(store=other_store, name="外店", mobile=first.mobile)


def test_duplicate_id_number_and_similar_name_with_landline(store):
    number = make_id_number()
    make_customer(store, 1, id_number=number)
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="别名", mobile="13900000099", id_number=number)
    assert "id_number" in error.value.message_dict
    services.customer_create(store=store, name="王伟", landline="021-58880000")
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="王伟先生", landline="021-58880000")
    assert "name" in error.value.message_dict


def test_update_changes_only_given_fields_and_keeps_history(store, cr_manager):
    customer = make_customer(store, 1, home_address="旧地址")
    services.customer_update(customer=customer, actor=cr_manager, home_address="新地址")
    customer.refresh_from_db()
    assert customer.home_address == "新地址" and customer.mobile
    history = list(customer.history.order_by("history_date"))
    assert [h.home_address for h in history] == ["旧地址", "新地址"]
    assert history[-1].history_user == cr_manager


def test_consent_refusal_needs_a_reason_and_is_stamped(store):
    customer = make_customer(store, 1)
    with refused("contact_refusal_reason", "客户拒绝联系时请填写原因。"):
        services.customer_set_consent(customer=customer, sms_allowed=False, call_allowed=True)
    services.customer_set_consent(customer=customer, sms_allowed=False, call_allowed=True,
                                  reason="客户要求")
    customer.refresh_from_db()
    assert not customer.sms_allowed and customer.call_allowed
    assert customer.consent_updated_at is not None


def test_family_members_created_with_customer_and_validated(store):
    customer = services.customer_create(store=store, name="张伟", mobile="13900000005", family=[
        {"relation": "spouse", "name": "李丽", "birthday": date(1988, 3, 8), "phone": "139 0000 0006"}])
    member = customer.family.get()
    assert member.phone == "13900000006"
    with pytest.raises(ValidationError) as error:
        services.customer_create(store=store, name="赵六", mobile="13900000007",
                                 family=[{"relation": "nobody", "name": ""}])
    assert "family.0.relation" in error.value.message_dict
    assert not Customer.objects.filter(name="赵六").exists()


# Vehicles, ownership -----------------------------------------------------------------------------

def test_vehicle_register_opens_ownership_and_rejects_duplicate_vin(customer):
    vehicle = make_vehicle(customer, 1, plate="沪a·12345")
    assert vehicle.plate == "沪A12345"
    assert vehicle.ownerships.get().ended_on is None
    with pytest.raises(ValidationError) as error:
        make_vehicle(customer, 1)
    assert "vin" in error.value.message_dict


def test_foreign_vin_registers_with_a_warning(customer):
    vehicle = services.vehicle_register(store=customer.store, customer=customer,
                                        vin="WVWZZZ1KZ6W000001")
    assert vehicle.warnings


def test_transfer_keeps_earlier_owner_in_history(store, vehicle):
    buyer = make_customer(store, 2)
    with refused("on", "过户日期不能早于当前车主的开始日期。"):
        services.vehicle_transfer(vehicle=vehicle, customer=buyer, on=date(2026, 10, 1))
    services.vehicle_transfer(vehicle=vehicle, customer=buyer, on=date(2026, 11, 20))
    vehicle.refresh_from_db()
    assert vehicle.customer == buyer
    rows = list(VehicleOwnership.objects.filter(vehicle=vehicle).order_by("started_on", "id"))
    assert [(r.customer_id, r.ended_on) for r in rows][-1] == (buyer.pk, None)
    assert rows[0].ended_on == date(2026, 11, 20)
    assert vehicle.history.count() >= 2


def test_transfer_to_another_store_refused(vehicle, other_customer):
    with refused("customer", "新车主必须是本店客户。"):
        services.vehicle_transfer(vehicle=vehicle, customer=other_customer)


def test_retired_vehicle_takes_no_visits(vehicle):
    services.vehicle_retire(vehicle=vehicle)
    with pytest.raises(ValidationError) as error:
        services.service_visit_record(vehicle=vehicle, repair_type="repair", date_in=date(2026, 11, 1))
    assert "vehicle" in error.value.message_dict


# Due dates ---------------------------------------------------------------------------------------

def test_delivery_sets_first_service_by_default_rule(vehicle):
    make_sale(vehicle, delivered_on=date(2026, 8, 31))
    vehicle.refresh_from_db()
    assert vehicle.delivered_on == date(2026, 8, 31)
    assert vehicle.first_service_due_on == date(2026, 11, 30)


def test_brand_rule_row_wins_over_default(store, vehicle):
    store.brand = "斯柯达"
    store.save()
    ServiceRule.objects.create(brand="斯柯达", first_service_months=2, service_interval_months=12)
    make_sale(vehicle, delivered_on=date(2026, 8, 10))
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 11, 1))
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on == date(2026, 10, 10)
    assert vehicle.next_service_due_on == date(2027, 11, 1)


def test_default_rule_row_is_editable(vehicle):
    ServiceRule.objects.update_or_create(brand="", defaults={"first_service_months": 4})
    make_sale(vehicle, delivered_on=date(2026, 8, 10))
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on == date(2026, 12, 10)


def test_sale_dates_must_make_sense(vehicle):
    with pytest.raises(ValidationError) as error:
        make_sale(vehicle, order_date=date(2026, 8, 10), delivered_on=date(2026, 8, 9))
    assert "delivered_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_sale(vehicle, price=Decimal("100"), discount=Decimal("200"))
    assert "discount" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_sale(vehicle, order_date=date(2026, 11, 21), delivered_on=None)
    assert "order_date" in error.value.message_dict
    assert not vehicle.sales.exists()


def test_sale_without_delivery_then_deliver(vehicle):
    sale = make_sale(vehicle, delivered_on=None)
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on is None
    services.sale_deliver(sale=sale, delivered_on=date(2026, 8, 20))
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on == date(2026, 11, 20)


def test_sale_to_another_customer_moves_ownership(store, vehicle):
    buyer = make_customer(store, 3, card="a")
    make_sale(vehicle, customer=buyer)
    vehicle.refresh_from_db()
    buyer.refresh_from_db()
    assert vehicle.customer == buyer and buyer.card == "c"
    assert vehicle.ownerships.filter(reason="sale", customer=buyer, ended_on=None).exists()


def test_first_service_visit_satisfies_first_service(vehicle):
    make_sale(vehicle, delivered_on=date(2026, 8, 10))
    services.service_visit_record(vehicle=vehicle, repair_type="first_service",
                                  date_in=date(2026, 11, 5), mileage=5000)
    vehicle.refresh_from_db()
    assert vehicle.first_service_due_on is None
    assert vehicle.first_service_done_on == date(2026, 11, 5)
    assert vehicle.next_service_due_on == date(2027, 5, 5)
    assert vehicle.last_visit_on == date(2026, 11, 5)
    assert vehicle.mileage == 5000


def test_stated_next_date_wins_and_visit_before_due_moves_it(vehicle):
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 5, 1), next_service_on=date(2026, 12, 1))
    vehicle.refresh_from_db()
    assert vehicle.next_service_due_on == date(2026, 12, 1)
    # came in early, before the due date: the date moves from this visit
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 11, 10))
    vehicle.refresh_from_db()
    assert vehicle.next_service_due_on == date(2027, 5, 10)


def test_repair_visit_moves_last_visit_but_not_service_due(vehicle):
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 6, 1))
    services.service_visit_record(vehicle=vehicle, repair_type="body_paint", date_in=date(2026, 9, 1))
    vehicle.refresh_from_db()
    assert vehicle.last_visit_on == date(2026, 9, 1)
    assert vehicle.next_service_due_on == date(2026, 12, 1)


def test_old_visit_entered_late_moves_nothing(vehicle):
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 10, 1), mileage=20000)
    services.service_visit_record(vehicle=vehicle, repair_type="periodic_service",
                                  date_in=date(2026, 4, 1), mileage=10000)
    vehicle.refresh_from_db()
    assert vehicle.last_visit_on == date(2026, 10, 1)
    assert vehicle.next_service_due_on == date(2027, 4, 1)
    assert vehicle.mileage == 20000


def test_visit_dates_and_values_must_make_sense(vehicle):
    with pytest.raises(ValidationError) as error:
        services.service_visit_record(vehicle=vehicle, repair_type="nonsense",
                                      date_in=date(2026, 11, 10), date_out=date(2026, 11, 9),
                                      amount=Decimal("-1"), next_service_on=date(2026, 11, 1))
    assert set(error.value.message_dict) >= {"repair_type", "date_out", "amount", "next_service_on"}
    with pytest.raises(ValidationError) as error:
        services.service_visit_record(vehicle=vehicle, repair_type="repair", date_in=date(2026, 11, 21))
    assert "date_in" in error.value.message_dict
    assert not ServiceVisit.objects.exists()


def test_mileage_cannot_go_backwards(vehicle):
    services.service_visit_record(vehicle=vehicle, repair_type="repair", date_in=date(2026, 10, 1),
                                  mileage=20000)
    with pytest.raises(ValidationError) as error:
        services.service_visit_record(vehicle=vehicle, repair_type="repair",
                                      date_in=date(2026, 11, 1), mileage=19000)
    assert "mileage" in error.value.message_dict


def test_same_dms_work_order_once(vehicle):
    services.service_visit_record(vehicle=vehicle, repair_type="repair", date_in=date(2026, 10, 1),
                                  dms_ref="WX1")
    with pytest.raises(ValidationError) as error:
        services.service_visit_record(vehicle=vehicle, repair_type="repair", date_in=date(2026, 10, 2),
                                      dms_ref="WX1")
    assert "dms_ref" in error.value.message_dict


def test_policy_sets_latest_insurance_expiry(vehicle):
    services.insurance_policy_record(vehicle=vehicle, insurer="平安", starts_on=date(2026, 1, 1),
                                     expires_on=date(2026, 12, 31))
    services.insurance_policy_record(vehicle=vehicle, insurer="人保", starts_on=date(2025, 1, 1),
                                     expires_on=date(2025, 12, 31))
    vehicle.refresh_from_db()
    assert vehicle.insurance_expires_on == date(2026, 12, 31)
    with pytest.raises(ValidationError) as error:
        services.insurance_policy_record(vehicle=vehicle, insurer="", starts_on=date(2027, 1, 1),
                                         expires_on=date(2026, 1, 1))
    assert set(error.value.message_dict) == {"insurer", "expires_on"}


# Merge -----------------------------------------------------------------------------------------

@pytest.fixture
def duplicate_pair(store):
    kept = make_customer(store, 1, home_address="")
    dup = make_customer(store, 2, name=kept.name, home_address="浦东新区1号", allow_duplicate=True)
    car = make_vehicle(dup, 5)
    make_sale(car)
    services.service_visit_record(vehicle=car, repair_type="first_service", date_in=date(2026, 11, 1))
    FamilyMember.objects.create(customer=dup, relation="child", name="小明")
    return kept, dup, car


def test_merge_moves_everything_and_fills_blanks(duplicate_pair, cr_manager):
    kept, dup, car = duplicate_pair
    merge = services.customer_merge(kept=kept, merged=dup, actor=cr_manager, reason="同一人")
    kept.refresh_from_db()
    dup.refresh_from_db()
    car.refresh_from_db()
    assert car.customer == kept
    assert kept.sales.count() == 1 and kept.visits.count() == 1 and kept.family.count() == 1
    assert kept.home_address == "浦东新区1号"
    assert not dup.is_active and dup.merged_into == kept
    assert "customers.vehicle.customer" in merge.moved
    assert not dup.vehicles.exists()


def test_merge_undo_puts_everything_back(duplicate_pair, cr_manager):
    kept, dup, car = duplicate_pair
    merge = services.customer_merge(kept=kept, merged=dup, actor=cr_manager)
    services.customer_merge_undo(merge=merge, actor=cr_manager)
    kept.refresh_from_db()
    dup.refresh_from_db()
    car.refresh_from_db()
    assert car.customer == dup and dup.is_active and dup.merged_into is None
    assert dup.sales.count() == 1 and dup.visits.count() == 1 and dup.family.count() == 1
    assert kept.home_address == ""
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == cr_manager
    with refused("merge", "该合并已撤销。"):
        services.customer_merge_undo(merge=merge, actor=cr_manager)


def test_merge_needs_permission_and_same_store(duplicate_pair, caller, cr_manager, other_customer):
    kept, dup, _car = duplicate_pair
    with pytest.raises(PermissionDenied):
        services.customer_merge(kept=kept, merged=dup, actor=caller)
    with pytest.raises(PermissionDenied):
        services.customer_merge(kept=kept, merged=other_customer, actor=cr_manager)
    with refused("merged", "不能把客户合并到自己。"):
        services.customer_merge(kept=kept, merged=kept, actor=cr_manager)


def test_merged_customer_cannot_be_merged_again(duplicate_pair, cr_manager, store):
    kept, dup, _car = duplicate_pair
    services.customer_merge(kept=kept, merged=dup, actor=cr_manager)
    third = make_customer(store, 3)
    with refused("merged", "已停用或已合并的客户不能再合并。"):
        services.customer_merge(kept=third, merged=dup, actor=cr_manager)


# Corrections -------------------------------------------------------------------------------------

def test_correction_filed_notifies_department_manager(customer, caller, sales_manager,
                                                      service_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        correction = services.correction_request_file(
            customer=customer, field="customer.home_address", correct_value="新地址",
            filed_by=caller, department="sales")
    assert correction.wrong_value == customer.home_address
    assert Notification.objects.filter(user=sales_manager).count() == 1
    assert not Notification.objects.filter(user=service_manager).exists()


def test_correction_applied_changes_record_with_history(customer, caller, sales_manager,
                                                        django_capture_on_commit_callbacks):
    correction = services.correction_request_file(
        customer=customer, field="customer.mobile", correct_value="139 1111 2222",
        filed_by=caller, department="sales")
    with django_capture_on_commit_callbacks(execute=True):
        services.correction_request_apply(correction=correction, actor=sales_manager, note="已核实")
    customer.refresh_from_db()
    assert customer.mobile == "13911112222"
    assert customer.history.latest().history_user == sales_manager
    correction.refresh_from_db()
    assert correction.status == CorrectionRequest.Status.APPLIED
    assert Notification.objects.filter(user=caller).exists()
    services.correction_request_confirm(correction=correction, actor=caller)
    correction.refresh_from_db()
    assert correction.confirmed_by == caller


def test_correction_with_invalid_value_is_refused_and_stays_open(customer, caller, sales_manager):
    correction = services.correction_request_file(
        customer=customer, field="customer.mobile", correct_value="123", filed_by=caller,
        department="sales")
    with pytest.raises(ValidationError) as error:
        services.correction_request_apply(correction=correction, actor=sales_manager)
    assert "correct_value" in error.value.message_dict
    correction.refresh_from_db()
    assert correction.status == CorrectionRequest.Status.OPEN


def test_vehicle_correction_and_gender_by_label(vehicle, caller, service_manager):
    correction = services.correction_request_file(
        customer=vehicle.customer, vehicle=vehicle, field="vehicle.plate", correct_value="沪B54321",
        filed_by=caller, department="service")
    services.correction_request_apply(correction=correction, actor=service_manager)
    vehicle.refresh_from_db()
    assert vehicle.plate == "沪B54321"
    gender = services.correction_request_file(customer=vehicle.customer, field="customer.gender",
                                              correct_value="女", filed_by=caller,
                                              department="service")
    services.correction_request_apply(correction=gender, actor=service_manager)
    vehicle.customer.refresh_from_db()
    assert vehicle.customer.gender == "female"


def test_correction_reject_needs_reason_and_decider_rights(customer, caller, sales_manager):
    correction = services.correction_request_file(
        customer=customer, field="customer.name", correct_value="王五", filed_by=caller,
        department="sales")
    with pytest.raises(PermissionDenied):
        services.correction_request_reject(correction=correction, actor=caller, note="x")
    with refused("decision_note", "驳回时请填写原因。"):
        services.correction_request_reject(correction=correction, actor=sales_manager, note="")
    services.correction_request_reject(correction=correction, actor=sales_manager, note="客户记错")
    with refused("status", "该申请已处理。"):
        services.correction_request_apply(correction=correction, actor=sales_manager)


def test_correction_of_a_vehicle_field_needs_the_vehicle(customer, caller):
    with pytest.raises(ValidationError) as error:
        services.correction_request_file(customer=customer, field="vehicle.plate",
                                         correct_value="沪B54321", filed_by=caller,
                                         department="service")
    assert "vehicle" in error.value.message_dict


# Reveal -------------------------------------------------------------------------------------------

def test_reveal_is_logged_and_needs_the_right(customer, cr_manager, caller):
    assert services.personal_data_reveal(user=cr_manager, customer=customer, field="mobile") == \
        customer.mobile
    assert PersonalDataReveal.objects.filter(user=cr_manager, customer=customer).count() == 1
    with pytest.raises(PermissionDenied):
        services.personal_data_reveal(user=caller, customer=customer, field="mobile")
    assert PersonalDataReveal.objects.count() == 1


def test_vin_helper_is_valid():
    assert Vehicle(vin=make_vin(3)).vin.startswith("L")


def test_merge_moves_rows_of_every_app_that_points_at_customers():
    """Tasks, complaints, survey answers: every foreign key to Customer in any installed app
    is moved by a merge, without customers knowing those apps."""
    from django.apps import apps

    from customers.services import _MERGE_SKIP, _customer_relations

    expected = {
        (model._meta.label_lower, field.name)
        for model in apps.get_models()
        for field in model._meta.fields
        if field.many_to_one and field.related_model is Customer
        and model._meta.label_lower not in _MERGE_SKIP and not hasattr(model, "instance_type")
    }
    found = {(model._meta.label_lower, name) for model, name in _customer_relations()}
    assert found == expected
    assert ("customers.vehicle", "customer") in found
