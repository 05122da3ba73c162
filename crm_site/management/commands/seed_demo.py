"""Create a demo dealer group with one store, one member of staff per role, and let each
app add its own demo data (an app adds it in `<app>/demo.py`, function `seed(context)`)."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm_site.models import DealerGroup, Store, User
from crm_site.roles import Role
from crm_site.services import store_create

DEMO_PASSWORD = "Demo-2026!"  # printed on purpose: demo accounts only
DEMO_STAFF = [
    (Role.CR_MANAGER, "王", "丽华"),
    (Role.CALLER, "李", "娜"),
    (Role.CR_SPECIALIST, "张", "伟"),
    (Role.LOUNGE_ATTENDANT, "刘", "芳"),
    (Role.SALES_MANAGER, "陈", "强"),
    (Role.SERVICE_MANAGER, "杨", "军"),
    (Role.GENERAL_MANAGER, "赵", "国庆"),
]
# What each demo login does first, printed by `seed_demo --logins` (the demo's last words).
FIRST_STEPS = {
    Role.CR_MANAGER: "complaints on the clock, the call plan, today's inspections",
    Role.CALLER: "works today's calls in the worklist (number keys record outcomes)",
    Role.CR_SPECIALIST: "logs a complaint and takes it to verified",
    Role.LOUNGE_ATTENDANT: "logs a visitor arriving in the lounge",
    Role.SALES_MANAGER: "answers a complaint handed to sales; fixes showroom failures",
    Role.SERVICE_MANAGER: "answers a complaint handed to service; fixes lounge failures",
    Role.GENERAL_MANAGER: "reads the dashboard and drills down to the rows behind it",
}


class Command(BaseCommand):
    help = "Create demo data (a dealership, its staff and each app's records). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--logins", action="store_true",
                            help="only print the demo's logins and what each role does first")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="where the demo serves")

    def handle(self, *args, **options):
        if options["logins"]:
            return self.print_logins(options["url"])
        with transaction.atomic():
            context = self.seed_site()
            for config in apps.get_app_configs():
                module_name = f"{config.name}.demo"
                if config.name != "crm_site" and find_spec(config.name) and \
                        find_spec(module_name):
                    import_module(module_name).seed(context)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def print_logins(self, url):
        self.stdout.write(self.style.SUCCESS(f"\nOpen {url} and sign in (password for all: "
                                             f"{DEMO_PASSWORD}):"))
        for role, _family, _given in DEMO_STAFF:
            self.stdout.write(f"  {role.value:<18} {FIRST_STEPS[role]}")
        self.stdout.write(f"  {'admin':<18} superuser: everything, and {url}admin/")

    def seed_site(self):
        group, _ = DealerGroup.objects.get_or_create(name="华东汽车集团")
        store = Store.objects.filter(code="sh-pudong").first() or store_create(
            group=group, code="sh-pudong", name="上海浦东丰田4S店", brand="丰田",
            address="上海市浦东新区张杨路1号", phone="021-58880000", sms_sign_name="浦东丰田",
        )
        other = Store.objects.filter(code="hz-xihu").first() or store_create(
            group=group, code="hz-xihu", name="杭州西湖斯柯达4S店", brand="斯柯达",
            address="杭州市西湖区文三路2号", phone="0571-88880000", sms_sign_name="西湖斯柯达",
        )
        staff = {}
        for role, family, given in DEMO_STAFF:
            user, created = User.objects.get_or_create(
                username=role.value,
                defaults={"last_name": family, "first_name": given, "is_staff": False},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.stores.add(store)
            if role == Role.GENERAL_MANAGER:
                user.stores.add(other)
            user.groups.add(Group.objects.get(name=role.value))
            staff[role.value] = user
        admin, created = User.objects.get_or_create(username="admin", defaults={
            "is_superuser": True, "is_staff": True, "last_name": "系统", "first_name": "管理员"})
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        return {"store": store, "other_store": other, "staff": staff,
                "today": timezone.localdate(), "stdout": self.stdout}
