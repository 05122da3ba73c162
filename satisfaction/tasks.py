"""Thin jobs of the satisfaction work; safe to run twice."""

from celery import shared_task
from django.utils import timezone

from crm_site.models import Store

from . import rules, services


@shared_task(name="satisfaction.tasks.month_close")
def month_close(period=None):
    """After a month ends: find the weak mystery-shopper items of every store for that
    month (default: last month). Upserts, so a second run changes nothing."""
    if period:
        month = rules.parse_period(period)
    else:
        month = rules.add_months(timezone.localdate().replace(day=1), -1)
    count = 0
    for store in Store.objects.filter(is_active=True):
        count += services.weak_items_detect_ms(store=store, period=month).count()
    services.figures_refresh(periods=rules.months_back(month, 12))
    return count


@shared_task(name="satisfaction.tasks.survey_complaints_sweep")
def survey_complaints_sweep(days=7):
    """Open the complaints of dissatisfied survey answers that have none yet."""
    from datetime import timedelta

    return services.survey_complaints_sweep(since=timezone.localdate() - timedelta(days=days))


@shared_task(name="satisfaction.tasks.figures_refresh")
def figures_refresh(months=2):
    """Refresh the monthly summary of the current and previous month(s)."""
    current = timezone.localdate().replace(day=1)
    return services.figures_refresh(periods=rules.months_back(current, months))


@shared_task(name="satisfaction.tasks.staff_greetings")
def staff_greetings(day=None):
    """Queue today's staff birthday and holiday greetings; a second run queues nothing."""
    from datetime import date

    from .team import services as team_services

    return team_services.staff_greetings_queue(day=date.fromisoformat(day) if day else None)


@shared_task(name="satisfaction.tasks.customer_analysis_refresh")
def customer_analysis_refresh():
    """Refresh the stored customer analysis of every store (this and last month, this
    quarter, this year)."""
    return services.customer_analysis_refresh()
