"""Reactions to the floors below, registered in AppConfig.ready() and called by their
services: a follow-up survey answer of "dissatisfied" or worse opens a complaint once
the call's transaction commits (services.survey_complaint_open, idempotent per call);
the sweep job catches anything missed."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

logger = logging.getLogger(__name__)


def answers_recorded(*, task, answers):
    """followups "answers recorded" hook."""
    from .services import DISSATISFIED

    if not any(answer.rating <= DISSATISFIED for answer in answers):
        return
    task_id = task.pk

    def open_complaint():
        from .services import survey_complaint_open

        try:
            survey_complaint_open(task_id=task_id)
        except (ValidationError, PermissionDenied):
            logger.exception("survey complaint for task %s could not be opened", task_id)

    # robust: a failure is logged and left to the sweep, never breaks the caller's save
    transaction.on_commit(open_complaint, robust=True)
