"""Demo data of the inspections floor: each store's checklists with default responsible
people, a week of past rounds with failures and photos, fixes (some late), today's
rounds and an open rectification, so the manager's page has something to show.
Idempotent: a store that already has past rounds gets no second week."""

import io
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from crm_site.models import Activity
from crm_site.roles import Role
from crm_site.selectors import store_calendar

from . import services
from .models import Area, ChecklistTemplate, Inspection, Outcome, Rectification

RESPONSIBLE = {
    Area.SHOWROOM: Role.SALES_MANAGER,
    Area.DISPLAY_CARS: Role.SALES_MANAGER,
    Area.CUSTOMER_LOUNGE: Role.LOUNGE_ATTENDANT,
    Area.BAR: Role.LOUNGE_ATTENDANT,
    Area.RESTROOMS: Role.LOUNGE_ATTENDANT,
    Area.OFFICES: Role.CR_SPECIALIST,
    Area.SERVICE_RECEPTION: Role.SERVICE_MANAGER,
}
COLOURS = [(200, 60, 60), (220, 160, 40), (80, 120, 200), (90, 160, 90), (150, 90, 170)]


def demo_photo(label, seed, after=False):
    """A small JPEG made on the spot: a coloured frame with a mark, like a phone snap."""
    rng = random.Random(seed)
    colour = (90, 170, 90) if after else rng.choice(COLOURS)
    image = Image.new("RGB", (480, 360), (235, 235, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, 460, 340], outline=colour, width=8)
    for _n in range(5):
        x, y = rng.randint(40, 380), rng.randint(40, 260)
        draw.ellipse([x, y, x + rng.randint(30, 80), y + rng.randint(30, 80)], fill=colour)
    draw.text((30, 320), ("OK " if after else "NG ") + label, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return SimpleUploadedFile(f"{label}.jpg", out.getvalue(), content_type="image/jpeg")


def _set_responsible(store, staff):
    for template in ChecklistTemplate.objects.filter(store=store, responsible__isnull=True):
        person = staff.get(RESPONSIBLE.get(template.area, Role.CR_SPECIALIST))
        if person is not None and person.stores.filter(pk=store.pk).exists():
            template.responsible = person
            template.save(update_fields=["responsible"])


def _walk(inspection, inspector, rng, start, fail_share=0.08, fail_first=False, takes=timedelta(minutes=12)):
    """Start, answer and complete one round at `start`."""
    services.inspection_start(inspection=inspection, actor=inspector, now=start)
    for result in inspection.results.order_by("position"):
        roll = rng.random()
        outcome = Outcome.FAIL if roll < fail_share else Outcome.NA if roll > 0.95 else Outcome.PASS
        if fail_first and result.position == 1:
            outcome = Outcome.FAIL
        services.inspection_answer(result=result, actor=inspector, outcome=outcome, now=start,
                                   note="现场发现问题，已拍照" if outcome == Outcome.FAIL else None)
        if outcome == Outcome.FAIL:
            services.result_add_photo(result=result, actor=inspector, now=start,
                                      upload=demo_photo(f"{inspection.pk}-{result.pk}", result.pk))
    return services.inspection_complete(inspection=inspection, actor=inspector,
                                        now=start + takes)


def _past_week(store, staff, today, tz):
    inspector, manager = staff[Role.CR_SPECIALIST], staff[Role.CR_MANAGER]
    calendar = store_calendar(store, Activity.INSPECTIONS)
    days = [today - timedelta(days=n) for n in range(7, 0, -1)]
    for day in days:
        if not calendar.is_working_day(day):
            continue
        services.rounds_schedule(now=datetime.combine(day, time(7, 0), tzinfo=tz), stores=[store])
        rng = random.Random(f"{store.code}-{day}")
        for inspection in Inspection.objects.filter(store=store, day=day).order_by("scheduled_for", "id"):
            _walk(inspection, inspector, rng, inspection.scheduled_for)
        recent = day >= today - timedelta(days=2)
        plans = []
        for index, rectification in enumerate(
                Rectification.objects.filter(inspection__day=day, store=store).order_by("id")):
            roll = rng.random()
            if recent and (roll < 0.25 or index == 0):
                continue  # never fixed: overdue at the final sweep
            plans.append((roll > 0.8, rectification))
        # Fixes in time first, then the late ones (the sweep marks them overdue first).
        for late, rectification in sorted(plans, key=lambda plan: plan[0]):
            if late:
                when = rectification.due_at + timedelta(minutes=25)
                services.rectifications_mark_overdue(now=rectification.due_at + timedelta(minutes=1))
            else:
                when = rectification.notified_at + (rectification.due_at - rectification.notified_at) / 2
            services.rectification_fix(
                rectification=rectification, actor=rectification.responsible, now=when,
                note="已整改", upload=demo_photo(f"fix-{rectification.pk}", rectification.pk, after=True))
            services.rectification_verify(rectification=rectification, actor=manager, passed=True,
                                          now=when + timedelta(minutes=10), note="复查通过")


def seed(context):
    stores = [context["store"], context["other_store"]]
    staff = context["staff"]
    today = context["today"]
    for store in stores:
        services.checklists_ensure_for_store(store=store)
        _set_responsible(store, staff)
    store = context["store"]
    tz = ZoneInfo(store.time_zone)
    if not Inspection.objects.filter(store=store, day__lt=today).exists():
        _past_week(store, staff, today, tz)
    services.rounds_schedule(stores=[store])
    now = timezone.now()
    if not Inspection.objects.filter(store=store, day=today, rule__isnull=True).exists():
        lounge = ChecklistTemplate.objects.get(store=store, area=Area.CUSTOMER_LOUNGE)
        extra = services.inspection_create_extra(actor=staff[Role.CR_SPECIALIST], template=lounge, now=now)
        _walk(extra, staff[Role.CR_SPECIALIST], random.Random("extra"), now, fail_share=0.3,
              fail_first=True, takes=timedelta(0))
    services.rectifications_mark_overdue(now=now)
    context["stdout"].write(
        f"inspections: {Inspection.objects.filter(store=store).count()} rounds, "
        f"{Rectification.objects.filter(store=store).unresolved().count()} open rectifications\n"
    )
