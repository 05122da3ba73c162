"""Demo follow-ups for seed_demo: a recall campaign and a car-care class with invited
customers, then the nightly planner for the demo day, so each caller's worklist is full
and SMS wait in the outbox. Idempotent: the planner creates each row once, the campaign
and class are found by name."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from customers.models import Customer

from .models import ClassInvitation, Programme, Task
from .planner import campaign_draw, reminders_plan
from .services import tasks_reassign


def seed(context):
    out, today = context["stdout"], context["today"]
    store = context["store"]
    manager = context["staff"].get("cr_manager")
    recall = Programme.objects.get(code="lapsed_recall")
    campaign, created = recall.campaigns.get_or_create(
        store=store, name="冬季服务节召回", defaults={
            "date": today + timedelta(days=30), "offer": "免费33项安全检测，工时八折",
            "lapsed_days": 180, "created_by": manager})
    if created:
        campaign_draw(campaign=campaign, on=today)
    classes = Programme.objects.get(code="care_class")
    starts = datetime.combine(today + timedelta(days=20), time(14, 0), ZoneInfo(store.time_zone))
    care_class, created = classes.care_classes.get_or_create(
        store=store, title="冬季爱车养护课堂", defaults={
            "starts_at": starts, "location": "展厅二楼客户休息区", "capacity": 30,
            "description": "冬季用车、轮胎与电瓶保养要点"})
    if created:
        ClassInvitation.objects.bulk_create(
            [ClassInvitation(care_class=care_class, customer=c)
             for c in Customer.objects.filter(store=store, is_active=True).order_by("id")[:12]],
            ignore_conflicts=True)
    counts = reminders_plan(day=today)
    caller = context["staff"].get("caller")
    if manager and caller and not Task.objects.worklist(today).filter(assignee=caller).exists():
        # The demo customers all belong to the CR specialist; the manager spreads the
        # day's calls over the team, as they would on the bulk-reassign page.
        ids = list(Task.objects.worklist(today).filter(store=store).values_list("pk", flat=True))
        if ids:
            tasks_reassign(actor=manager, task_ids=ids)
    open_calls = Task.objects.open().calls().filter(planned_on__lte=today).count()
    out.write(f"followups: planned {today} (assigned {counts.get('assigned', 0)}, "
              f"{open_calls} open calls); campaign and class ready")
    return counts


