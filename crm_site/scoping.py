"""The one scoping helper: every read path limits its rows to the user's stores."""

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
