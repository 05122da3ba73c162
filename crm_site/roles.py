"""The roles of DOMAIN.md section 1. Each role is a Django group of the same code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CR_MANAGER = "cr_manager", _("CR主管")
    CALLER = "caller", _("客户回访员")
    CR_SPECIALIST = "cr_specialist", _("CR专员")
    LOUNGE_ATTENDANT = "lounge_attendant", _("吧台服务员")
    SALES_MANAGER = "sales_manager", _("销售经理")
    SERVICE_MANAGER = "service_manager", _("服务经理")
    GENERAL_MANAGER = "general_manager", _("总经理")


MANAGER_ROLES = {Role.CR_MANAGER, Role.GENERAL_MANAGER}


def grant_permissions(apps, app_label, mapping):
    """Data-migration helper: give each role (group) the listed permission codenames.

    `mapping` is {role_code: [codename, ...]} for permissions of `app_label`. The
    permissions are created first, because Django only creates them after migrate.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    previous = getattr(app_config, "models_module", None)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in mapping.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise LookupError(f"unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*perms)
