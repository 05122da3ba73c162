"""Thin Celery tasks of the site-wide floor."""

from celery import shared_task

from . import services


@shared_task
def messages_send_due():
    return services.messages_send_due()


@shared_task
def messages_requeue_stuck():
    return services.messages_requeue_stuck()
