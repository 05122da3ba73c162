"""One small world for the access tests: the demo data of every app, seeded for two
stores of one dealer group (each store once as "ours", once as "the other"), and one
member of staff per role in store A. Built once per module inside a transaction that is
rolled back at the end; every test runs in a savepoint inside it."""

import io
from collections import deque
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management.base import OutputWrapper
from django.db import transaction
from django.utils import timezone

from crm_site.models import DealerGroup, Store, User
from crm_site.roles import Role
from crm_site.services import store_create


def store_path(model, depth=4):
    """The lookup path from `model` to Store ("store", "customer__store", ...), or None."""
    if model is Store:
        return "pk"
    queue = deque([(model, "")])
    seen = {model}
    while queue:
        current, prefix = queue.popleft()
        if prefix.count("__") >= depth:
            continue
        fields = sorted((f for f in current._meta.get_fields()
                         if (f.many_to_one or f.one_to_one) and f.concrete and f.related_model),
                        key=lambda f: (f.name != "store", f.name))
        for field in fields:
            path = f"{prefix}__{field.name}" if prefix else field.name
            if field.related_model is Store:
                return path
            if field.related_model not in seen and field.related_model is not User:
                seen.add(field.related_model)
                queue.append((field.related_model, path))
    return None


class World:
    """Stores, staff per role and a lookup "first row of model X in store S"."""

    def __init__(self):
        self._cache = {}
        group = DealerGroup.objects.create(name="权限测试集团")
        self.store = store_create(group=group, code="acc-a", name="A店", sms_sign_name="A店")
        self.other_store = store_create(group=group, code="acc-b", name="B店", sms_sign_name="B店")
        self.staff = {}
        self.other_staff = {}
        for role in Role:
            for store, staff in ((self.store, self.staff), (self.other_store, self.other_staff)):
                user = User.objects.create_user(
                    username=f"{role.value}-{store.code}", password="Secret-pass-42",
                    last_name="测", first_name=role.value)
                user.groups.add(Group.objects.get(name=role.value))
                user.stores.add(store)
                staff[role.value] = user
        # As in seed_demo, the general manager imports the group's scores (both stores)
        # while the demo data is made; afterwards each member of staff has one store.
        for ours, theirs, staff in ((self.store, self.other_store, self.staff),
                                    (self.other_store, self.store, self.other_staff)):
            staff[Role.GENERAL_MANAGER].stores.add(theirs)
        for ours, theirs, staff in ((self.store, self.other_store, self.staff),
                                    (self.other_store, self.store, self.other_staff)):
            context = {"store": ours, "other_store": theirs, "staff": staff,
                       "today": timezone.localdate(), "stdout": OutputWrapper(io.StringIO()),
                       "customers_demo_size": 12}
            if ours is self.other_store:
                self._one_store_only(ours)
            for config in apps.get_app_configs():
                module_name = f"{config.name}.demo"
                if config.name != "crm_site" and find_spec(config.name) and find_spec(module_name):
                    import_module(module_name).seed(context)
        for ours, theirs, staff in ((self.store, self.other_store, self.staff),
                                    (self.other_store, self.store, self.other_staff)):
            staff[Role.GENERAL_MANAGER].stores.remove(theirs)
            self._extras(ours, staff)
        # Everyone of store A may work across all the A-store demo rows (superuser-free).
        self.everything = User.objects.create_user(username="all-roles-a", password="Secret-pass-42")
        self.everything.groups.add(*Group.objects.filter(name__in=Role.values))
        self.everything.stores.add(self.store)

    def _one_store_only(self, store):
        """Demo parts that make fixed VINs (unique across stores) run for store A only:
        a row of theirs in store B tells them the demo is already there."""
        from customers.models import Customer
        from satisfaction.demo import OTHER_STORE_SOURCE

        Customer.objects.create(store=store, name="已有", mobile="13700000000",
                                source=OTHER_STORE_SOURCE)

    def _rules_and_records(self, store, manager):
        """A store's own copy of the group's rules edited on the settings pages (SLA
        policy, fix minutes, a check time), an import job and an outbox message."""
        from complaints.models import SlaPolicy
        from crm_site.models import ImportJob, Message
        from inspections.models import ChecklistTemplate, DeadlinePolicy, RoundRule

        for model in (SlaPolicy, DeadlinePolicy):
            if not model.objects.filter(store=store).exists():
                row = model.objects.filter(store__isnull=True).order_by("pk").first()
                row.pk, row.store = None, store
                row.save()
        template = ChecklistTemplate.objects.filter(store=store).order_by("pk").first()
        if template and not RoundRule.objects.filter(template=template).exists():
            RoundRule.objects.create(template=template, time_of_day="11:11")
        ImportJob.objects.create(kind="customers", store=store, created_by=manager,
                                 file_name="customers.csv", content=b"", content_hash="0" * 64)
        if not Message.objects.filter(store=store).exists():
            Message.objects.create(store=store, recipient="13900000009", sign_name=store.name,
                                   template_code="greeting", text="您好", purpose="greeting",
                                   not_before=timezone.now())

    def _extras(self, store, staff):
        """Rows the demo data does not make in every store."""
        from datetime import timedelta

        from django.core.files.uploadedfile import SimpleUploadedFile

        from complaints.models import Complaint
        from complaints.services import complaint_attach
        from customers.models import Customer, FamilyMember
        from customers.services import customer_create, customer_merge, family_member_add
        from followups.models import CareClass
        from followups.services import appointment_book, care_class_create

        manager = staff[Role.CR_MANAGER]
        customer = Customer.objects.filter(store=store, is_active=True).order_by("pk").first()
        appointment_book(actor=manager, customer=customer, purpose="保养",
                         booked_for=timezone.localdate() + timedelta(days=3))
        self._cache[("customers.FamilyMember", store.pk)] = family_member_add(
            customer=customer, actor=manager, relation=FamilyMember.Relation.choices[0][0],
            name="家人")
        # A club activity still open for sign-up (the store's first event is a care class).
        self._cache[("followups.ClubActivity", store.pk)] = care_class_create(
            actor=manager, store=store, kind=CareClass.Kind.DRIVE, title="车友会自驾游",
            starts_at=timezone.now() + timedelta(days=10), capacity=20, location="门店集合")
        from satisfaction.models import (
            Department,
            ImprovementPlan,
            Measure,
            MysteryShopCheck,
            MysteryShopItem,
            StaffGreeting,
            TrainingPlan,
        )
        from satisfaction.services import (
            countermeasure_add,
            improvement_plan_create,
            mystery_check_record,
            target_set,
        )

        target_set(actor=manager, measure=Measure.FOLLOWUP_RATE, value=85, store=store)
        if not ImprovementPlan.objects.filter(store=store).exists():  # demo: one store only
            plan = improvement_plan_create(actor=manager, store=store, title="展厅接待改善",
                                           department=Department.SALES, owner=manager,
                                           complaint_category="attitude")
            countermeasure_add(actor=manager, plan=plan, action="晨会演练", owner=manager,
                               due_on=timezone.localdate() + timedelta(days=7))
        for model in (TrainingPlan, StaffGreeting):  # the store's own copy of a default rule
            if not model.objects.filter(store=store).exists():
                row = model.objects.filter(store__isnull=True).order_by("pk").first()
                row.pk, row.store = None, store
                row.save()
        if not MysteryShopCheck.objects.filter(store=store).exists():
            item = MysteryShopItem.objects.filter(department=Department.SALES,
                                                  store__isnull=True).order_by("order").first()
            mystery_check_record(actor=manager, store=store, kind="covert",
                                 department=Department.SALES, checked_on=timezone.localdate(),
                                 staff=staff[Role.SALES_MANAGER],
                                 results=[(item, item.max_points, "")])
        kept, merged = (customer_create(store=store, name=name, actor=manager, mobile=mobile,
                                        allow_duplicate=True)
                        for name, mobile in (("合并保留", "13900000001"), ("合并重复", "13900000002")))
        customer_merge(kept=kept, merged=merged, actor=manager, reason="重复")
        self._rules_and_records(store, manager)
        complaint = Complaint.objects.filter(store=store).order_by("pk").first()
        complaint_attach(actor=manager, complaint=complaint, upload=SimpleUploadedFile(
            "receipt.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"))

    def row(self, label, store=None):
        """The first row (lowest id) of `app_label.Model` in `store` (default: store A).
        A few labels name some rows of a model and are set by `_extras`:
        followups.ClubActivity (a CareClass of a club kind)."""
        store = store or self.store
        key = (label, store.pk)
        if key not in self._cache:
            model = apps.get_model(label)
            path = store_path(model)
            qs = model._default_manager.all()
            if path:
                qs = qs.filter(**{path: store.pk})
            self._cache[key] = qs.order_by("pk").first()
        return self._cache[key]


def build_world(django_db_blocker):
    """Generator for a module-scoped fixture: yields a World, rolls everything back."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield World()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
