"""What the base layout needs on every page: the navigation the user may open and the
unread-notification count (one query)."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items, groups = [], []
    for config in apps.get_app_configs():
        group = []
        for label, url_name, perm in getattr(config, "nav_items", []):
            if perm and not user.has_perm(perm):
                continue
            try:
                group.append({"label": label, "url": reverse(url_name), "name": url_name})
            except NoReverseMatch:
                continue
        if group:
            groups.append({"label": config.verbose_name, "items": group})
            items.extend(group)
    from django.conf import settings

    return {"nav_items": items, "nav_groups": groups,
            "unread_notifications": user.notifications.unread().count(),
            "bell_refresh_seconds": settings.BELL_REFRESH_SECONDS}


def may_open(user, url):
    """Whether the user may open this page of the site, as far as the menus tell: a page
    that is a menu item asks for that item's permission; other pages are not known here."""
    from urllib.parse import urlsplit

    from django.urls import Resolver404, resolve

    try:
        name = resolve(urlsplit(url).path).view_name
    except Resolver404:
        return False
    for config in apps.get_app_configs():
        for _label, url_name, perm in getattr(config, "nav_items", []):
            if url_name == name and perm and not user.has_perm(perm):
                return False
    return True
