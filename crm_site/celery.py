"""The Celery app. Broker and eagerness come from settings (CELERY_* keys)."""

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings.base")

app = Celery("crm_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**kwargs):
    """Worker and beat log through settings.LOGGING, like the site: the same format,
    with the request id, instead of Celery's own."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    """Carry the current request id into the task so its log lines can be joined."""
    from crm_site.request_id import current_request_id

    if headers is not None and "request_id" not in headers:
        headers["request_id"] = current_request_id()


@task_prerun.connect
def _restore_request_id(task=None, **kwargs):
    from crm_site.request_id import set_request_id

    set_request_id(getattr(task.request, "request_id", None) or "-")
