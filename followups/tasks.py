"""Thin Celery tasks of the follow-ups floor; safe to run twice."""

from datetime import date

from celery import shared_task

from . import services


@shared_task
def plan_reminders(day=None):
    """The nightly planner (01:00 Asia/Shanghai); `day` as YYYY-MM-DD, default today."""
    counts = services.reminders_plan(day=date.fromisoformat(day) if day else None)
    return {key: value for key, value in counts.items() if not isinstance(value, dict)}


@shared_task
def vehicle_came_in(vehicle_id, visit_day=None):
    return services.vehicle_came_in(
        vehicle_id=vehicle_id, visit_day=date.fromisoformat(visit_day) if visit_day else None)


@shared_task
def planner_night_check():
    """06:30: tell the managers at once when last night's planner did not finish."""
    return services.planner_night_check()
