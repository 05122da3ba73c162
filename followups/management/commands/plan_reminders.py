"""`manage.py plan_reminders [--date YYYY-MM-DD]`: plan one day's reminders and calls."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from followups.services import reminders_plan


class Command(BaseCommand):
    help = "Plan the reminder programmes for a day (default today), catching up missed nights."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to plan, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError as error:
                raise CommandError(f"--date must be YYYY-MM-DD: {error}") from error
        counts = reminders_plan(day=day)
        for key, value in counts.items():
            self.stdout.write(f"{key}: {value}")
