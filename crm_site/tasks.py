"""Thin Celery tasks of the site-wide floor."""

import logging

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task
def messages_send_due():
    return services.messages_send_due()


@shared_task
def robot_posts_send_due():
    return services.robot_posts_send_due()


@shared_task
def messages_poll():
    return services.messages_poll()


@shared_task
def messages_requeue_stuck():
    return services.messages_requeue_stuck()


@shared_task
def calendar_year_check():
    from django.utils import timezone

    return services.calendar_year_missing_notify(today=timezone.localdate())


@shared_task
def import_job_run(job_id, commit=False):
    """Check (dry run) or commit an uploaded file (crm_site.imports)."""
    from . import imports
    from .models import ImportJob

    try:
        imports.job_run(job_id, commit=commit)
    except Exception:
        ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED)
        raise


def enqueue(task, *args, **kwargs):
    """Hand `task` to the workers once the current transaction commits, for work a
    request wants done sooner than the next scheduled run. Never fails the request: when
    the broker cannot be reached the failure is logged and the work waits for the
    scheduled job that picks up the same rows (what must be done is in PostgreSQL, never
    only in the queue). In-process (eager) runs propagate the task's own errors."""

    def send():
        if task.app.conf.task_always_eager:
            task.apply_async(args=args, kwargs=kwargs)
            return
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except (OperationalError, OSError):
            logger.warning("could not enqueue %s; the scheduled job will pick it up", task.name,
                           exc_info=True)

    transaction.on_commit(send)
