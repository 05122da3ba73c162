"""Run every scheduled job once, in this process: what beat would start (handy without
Redis, and after a night the scheduler missed)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from crm_site.celery import app


class Command(BaseCommand):
    help = "Run each job of CELERY_BEAT_SCHEDULE once, in-process."

    def handle(self, *args, **options):
        app.loader.import_default_modules()
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            task = app.tasks[entry["task"]]
            result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
            result.get(propagate=True)
            self.stdout.write(f"{name}: {result.result}")
