"""Reactions to the floors below: a follow-up survey answer of "dissatisfied" or worse
opens a complaint once the call's transaction commits (services.survey_complaint_open,
idempotent per call); the sweep job catches anything missed."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

logger = logging.getLogger(__name__)


@receiver(post_save, sender="followups.SatisfactionAnswer",
          dispatch_uid="satisfaction-survey-complaint")
def on_answer_saved(sender, instance, raw=False, **kwargs):
    from .services import DISSATISFIED

    if raw or instance.rating > DISSATISFIED:
        return
    task_id = instance.task_id

    def open_complaint():
        from .services import survey_complaint_open

        try:
            survey_complaint_open(task_id=task_id)
        except (ValidationError, PermissionDenied):
            logger.exception("survey complaint for task %s could not be opened", task_id)

    # robust: a failure is logged and left to the sweep, never breaks the caller's save
    transaction.on_commit(open_complaint, robust=True)
