"""Reads of the site-wide floor shared by pages, API and jobs."""

from django.db.models import Q

from .models import Activity, CalendarOverride, CalendarYear, OpeningHours
from .rules import StoreCalendar


def store_calendars(stores, activity=Activity.STORE, *, start=None, end=None):
    """{store id: StoreCalendar} of each store for one activity, in three queries
    however many stores. An activity without hours of its own follows the store's."""
    store_ids = [getattr(store, "pk", store) for store in stores]
    rows = {}
    for row in OpeningHours.objects.filter(store__in=store_ids,
                                           activity__in={Activity.STORE, activity}):
        rows.setdefault((row.store_id, row.activity), []).append(row)
    overrides = CalendarOverride.objects.filter(
        Q(store__isnull=True) | Q(store__in=store_ids, activity__in=["", activity]))
    if start:
        overrides = overrides.filter(date__gte=start)
    if end:
        overrides = overrides.filter(date__lte=end)
    national, own = {}, {}
    for store_id, day, is_working in overrides.order_by("activity").values_list(
            "store", "date", "is_working"):
        if store_id is None:
            national[day] = is_working
        else:  # ordered by activity: the activity's own row comes after the blank one
            own.setdefault(store_id, {})[day] = is_working
    years = frozenset(CalendarYear.objects.values_list("year", flat=True))
    calendars = {}
    for store_id in store_ids:
        hours_rows = rows.get((store_id, activity)) or rows.get((store_id, Activity.STORE), [])
        calendars[store_id] = StoreCalendar(
            hours={row.weekday: (row.opens, row.closes) for row in hours_rows},
            holiday_weekdays=frozenset(row.weekday for row in hours_rows if row.on_holidays),
            overrides=own.get(store_id, {}), national=national, entered_years=years)
    return calendars


def store_calendar(store, activity=Activity.STORE, *, start=None, end=None):
    """One store's calendar for one activity as a pure StoreCalendar (three queries)."""
    return store_calendars([store], activity, start=start, end=end)[store.pk]


def national_calendar():
    """The national calendar as the stores see it, for pages and greetings: a
    StoreCalendar with no hours, carrying the entered days and years (two queries)."""
    national = dict(CalendarOverride.objects.filter(store__isnull=True)
                    .values_list("date", "is_working"))
    years = frozenset(CalendarYear.objects.values_list("year", flat=True))
    return StoreCalendar(national=national, entered_years=years)


# What the purpose of an outbox message means, in words. Each floor that queues messages
# adds a function here in its AppConfig.ready(): it takes a set of purposes and returns
# {purpose: label} for those that are its own.
MESSAGE_PURPOSE_LABELLERS = []


def message_purpose_labels(purposes):
    """{purpose: label} for the purposes some floor knows; the others are left out."""
    purposes, labels = set(purposes), {}
    for labeller in MESSAGE_PURPOSE_LABELLERS:
        labels.update(labeller(purposes))
    return labels


def group_admins(group=None):
    """The active staff who keep the group's calendar (the right to enter calendar
    years), of `group`'s stores when given, and the superusers."""
    from django.contrib.auth.models import Permission

    from .models import User

    perm = Permission.objects.filter(codename="manage_calendar_year",
                                     content_type__app_label="crm_site")
    keepers = Q(groups__permissions__in=perm) | Q(user_permissions__in=perm)
    if group is not None:
        keepers &= Q(stores__group=group)
    return User.objects.filter(is_active=True).filter(keepers | Q(is_superuser=True)).distinct()


def national_days(start, end):
    """({date: (is_working, name)} of the national days entered by hand between `start`
    and `end`, the years entered in full): for festivals (greetings) (two queries)."""
    days = {day: (is_working, name) for day, is_working, name in
            CalendarOverride.objects.filter(store__isnull=True, date__range=(start, end))
            .values_list("date", "is_working", "name")}
    return days, frozenset(CalendarYear.objects.values_list("year", flat=True))


def calendar_year_missing(today):
    """Next year, when from 1 October on it is neither entered (CalendarYear) nor known
    to the holiday library; else None. Cached for an hour (one query at most); entering
    a year clears it (services.calendar_year_enter)."""
    from django.core.cache import cache

    from .rules import library_year_known

    year = today.year + 1
    if today.month < 10 or library_year_known(year):
        return None
    key = f"calendar-year-missing:{year}"
    missing = cache.get(key)
    if missing is None:
        missing = not CalendarYear.objects.filter(year=year).exists()
        cache.set(key, missing, 3600)
    return year if missing else None


def calendar_year_days(year):
    """[(date, is_working, name)] of `year`: as entered, else as the holiday library has
    it (names in Chinese), else empty; and whether the year was entered."""
    from .rules import FESTIVAL_LABELS, holiday_name, library_year

    if CalendarYear.objects.filter(year=year).exists():
        rows = CalendarOverride.objects.filter(store__isnull=True, date__year=year).order_by("date")
        return [(row.date, row.is_working, row.name) for row in rows], True
    days = []
    for day, is_working in sorted(library_year(year).items()):
        name = holiday_name(day) if not is_working else _festival_of_makeup(day)
        days.append((day, is_working, FESTIVAL_LABELS.get(name, name or "")))
    return days, False


def _festival_of_makeup(day):
    import chinese_calendar

    return chinese_calendar.get_holiday_detail(day)[1]
