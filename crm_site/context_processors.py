"""What the base layout needs on every page: the navigation the user may open and the
unread-notification count (one query)."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse


def _entries(user, menu):
    out = []
    for label, url_name, perm in menu:
        if perm and not user.has_perm(perm):
            continue
        try:
            out.append({"label": label, "url": reverse(url_name), "name": url_name})
        except NoReverseMatch:
            continue
    return out


def navigation(request):
    """Each app's menu (`nav_items` of its AppConfig) and one "设置" menu gathering the
    settings pages every app offers managers (`settings_items`)."""
    from django.utils.translation import gettext as _

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items, groups, settings = [], [], []
    for config in apps.get_app_configs():
        group = _entries(user, getattr(config, "nav_items", []))
        if group:
            groups.append({"label": config.verbose_name, "items": group})
            items.extend(group)
        settings.extend(_entries(user, getattr(config, "settings_items", [])))
    if settings:
        groups.append({"label": _("设置"), "items": settings})
        items.extend(settings)
    unread, missing_year = _unread_and_missing_year(user)
    from django.conf import settings as site_settings

    return {"nav_items": items, "nav_groups": groups, "unread_notifications": unread,
            "calendar_year_missing": missing_year,
            "bell_refresh_seconds": site_settings.BELL_REFRESH_SECONDS}


def _unread_and_missing_year(user):
    """The unread-notification count and, for managers from 1 October, next year when its
    national calendar is neither entered nor known to the holiday library: one query
    (the year's check rides on the count's)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Exists, OuterRef, Subquery
    from django.utils import timezone

    from .models import CalendarYear, Notification
    from .rules import library_year_known

    today = timezone.localdate()
    year = today.year + 1
    if (today.month < 10 or not user.has_perm("crm_site.view_calendaryear")  # managers
            or library_year_known(year)):
        return user.notifications.unread().count(), None
    unread = (Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
              .values("user").annotate(n=Count("id")).values("n"))
    count, entered = (get_user_model().objects.filter(pk=user.pk)
                      .annotate(unread=Subquery(unread), entered=Exists(
                          CalendarYear.objects.filter(year=year)))
                      .values_list("unread", "entered").get())
    return count or 0, None if entered else year


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
        for _label, url_name, perm in [*getattr(config, "nav_items", []),
                                       *getattr(config, "settings_items", [])]:
            if url_name == name and perm and not user.has_perm(perm):
                return False
    return True

