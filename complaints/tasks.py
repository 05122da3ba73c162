"""Thin Celery tasks of the complaints app."""

from celery import shared_task

from . import services


@shared_task
def complaints_sweep():
    """The minute SLA sweep: safe to run twice or in two workers at once."""
    return services.complaints_sweep()
