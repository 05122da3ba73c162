"""Run the scheduled jobs once, in this process: what beat would start (handy without
Redis, and after a night the scheduler missed). The jobs are the beat schedule's rows
(crm_site/schedules.py); `--only NAME` runs one of them, enabled or not."""

import json

from django.core.management.base import BaseCommand, CommandError

from crm_site.celery import app


class Command(BaseCommand):
    help = "Run each enabled job of the beat schedule once, in-process (--only NAME: one job)."

    def add_arguments(self, parser):
        parser.add_argument("--only", metavar="NAME", help="run only the job of this name")

    def handle(self, *args, only=None, **options):
        from django_celery_beat.models import PeriodicTask

        app.loader.import_default_modules()
        jobs = PeriodicTask.objects.exclude(task__startswith="celery.").order_by("id")
        if only:
            names = list(jobs.values_list("name", flat=True))
            jobs = jobs.filter(name=only)
            if not jobs:
                raise CommandError(f"No job named {only!r}. The jobs: {', '.join(names)}")
        else:
            jobs = jobs.filter(enabled=True)
        for job in jobs:
            task = app.tasks[job.task]
            result = task.apply(args=json.loads(job.args or "[]"),
                                kwargs=json.loads(job.kwargs or "{}"))
            result.get(propagate=True)
            self.stdout.write(f"{job.name}: {result.result}")
