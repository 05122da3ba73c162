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

# Who stands above whom when staff are changed: the general manager answers for the
# whole group; the CR, sales and service managers each for a department of a store;
# the others for their own work.
ROLE_RANK = {
    Role.CALLER: 1, Role.CR_SPECIALIST: 1, Role.LOUNGE_ATTENDANT: 1,
    Role.CR_MANAGER: 2, Role.SALES_MANAGER: 2, Role.SERVICE_MANAGER: 2,
    Role.GENERAL_MANAGER: 3,
}


def grantable_roles(actor):
    """The roles `actor` may hand out: every role not above the actor's own highest
    (all of them for a superuser, none without the right to manage staff)."""
    if actor.is_superuser:
        return set(Role.values)
    if not actor.has_perm("crm_site.manage_staff"):
        return set()
    own = max((ROLE_RANK[Role(code)] for code in actor.role_codes), default=0)
    return {code for code in Role.values if ROLE_RANK[Role(code)] <= own}


def staff_change_refusal(actor, target=None, *, roles=None, stores=None, managed=None):
    """THE rule for changing staff (create, edit, deactivate, stores, roles), used by the
    staff pages and services (and any staff API): why `actor` may not make the change,
    or None when they may.

    - Only someone with the right to manage staff changes staff, and only in the stores
      they manage (their own stores).
    - Nobody changes a member of staff who also works for a store they do not manage
      (e.g. the group's general manager, seen from one store), nor one holding a role
      above their own.
    - Nobody grants a role above their own (`grantable_roles`).
    - Nobody raises their own roles: on oneself, roles may only be taken away.

    `target` is None for a new member of staff; `roles` and `stores` are what the change
    would set (None: unchanged). `managed` (store ids) saves a query per row on a list.
    Reads `target`'s stores and groups through prefetched rows when there are any.
    """
    from django.utils.translation import gettext as _

    if not actor.has_perm("crm_site.manage_staff"):
        return _("您没有管理员工的权限。")
    if actor.is_superuser:
        return None
    if managed is None:
        from .scoping import stores_of

        managed = set(stores_of(actor).values_list("pk", flat=True))
    grantable = grantable_roles(actor)
    if target is not None:
        if target.is_superuser:
            return _("不能修改系统管理员。")
        if any(store.pk not in managed for store in target.stores.all()):
            return _("该员工还在您不管理的门店任职，只能由管理这些门店的人修改。")
        if target.role_codes - grantable:
            return _("该员工的角色高于您的角色，您不能修改。")
    if stores is not None and any(store.pk not in managed for store in stores):
        return _("只能把员工分配到您所在的门店。")
    if roles is not None:
        roles = {str(role) for role in roles}
        if target is not None and target.pk == actor.pk and roles - target.role_codes:
            return _("不能给自己增加角色。")
        above = (roles & set(Role.values)) - grantable  # unknown codes: _set_roles says so
        if above:
            return _("不能授予高于您自己的角色：%(roles)s") % {
                "roles": "、".join(str(Role(code).label) for code in sorted(above))}
    return None


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
