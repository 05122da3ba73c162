"""Factories for follow-up tests: customers and vehicles of the floor below, straight
into the tables (the planner reads only columns)."""

import factory

from customers.models import Customer, ServiceVisit, Vehicle


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    vin = factory.Sequence(lambda n: f"LVGBM00000{n:07d}")
    plate = factory.Sequence(lambda n: f"沪A{n:05d}")
    model_name = "卡罗拉"


class ServiceVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceVisit

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.SelfAttribute("vehicle.customer")
    store = factory.SelfAttribute("vehicle.store")
    repair_type = ServiceVisit.RepairType.PERIODIC_SERVICE
