"""Thin Celery tasks of the inspections floor; both are safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def rounds_schedule():
    """Plan today's rounds of every store that works today."""
    return services.rounds_schedule()


@shared_task
def rectifications_mark_overdue():
    """Mark rectifications past their deadline overdue and tell the people once."""
    return services.rectifications_mark_overdue()
