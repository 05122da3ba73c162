"""The one scoping helper: every read path limits its rows to the user's stores, and
every write checks the store of its record here."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from .models import Store


def stores_of(user):
    """The stores a user works for. A superuser sees every store."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Store.objects.none()
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(staff=user)


def for_user(queryset, user, store_field="store"):
    """Limit `queryset` to rows of the user's stores (one SQL subquery, no extra query).

    `store_field` is the path from the queryset's model to Store, e.g. "store" or
    "customer__store"; use "pk" for a Store queryset itself.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    lookup = f"{store_field}__in"
    return queryset.filter(**{lookup: Store.objects.filter(staff=user).values("pk")})


def works_for(user, store):
    """Whether `user` works for `store` (a Store or its id); a superuser for every store."""
    store_id = getattr(store, "pk", store)
    return stores_of(user).filter(pk=store_id).exists()


def check_store(user, store, field=None):
    """Refuse a write on a record of a store the user does not work for: PermissionDenied,
    or a ValidationError on `field` where the store was chosen in a form."""
    if works_for(user, store):
        return
    if field:
        raise ValidationError({field: _("您无权操作该门店。")})
    raise PermissionDenied(_("该记录不属于您的门店。"))
