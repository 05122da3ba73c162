"""Factories of the complaints tests."""

import factory

from customers.models import Customer, Vehicle


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    vin = factory.Sequence(lambda n: f"LVGBE40K0{n:08d}")
    plate = factory.Sequence(lambda n: f"沪A{n:05d}")
