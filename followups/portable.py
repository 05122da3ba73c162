"""The planner's jobs for the embedded SQLite demo (`make demo`), in the ORM.

PostgreSQL runs the set-based SQL of planner.py; SQLite lacks unnest, data-modifying
CTEs and PostgreSQL's date arithmetic, so there the same decisions are taken here with
one query per (step, day) and bulk writes. Same rules, same unique constraints, demo
scale only."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from crm_site.models import Message
from customers.models import Customer, ServiceVisit, Vehicle

from . import rules
from .models import (
    Appointment,
    CampaignMember,
    Channel,
    ClassInvitation,
    FollowupSettings,
    Programme,
    Step,
    Task,
)

OPEN = ("planned", "retry")


def _candidates(step, row):
    """[(customer, vehicle or None)] for one window row."""
    store_id, due_on, _planned, _nb, _ex, key1, key2 = row
    anchor = step.programme.anchor
    from .planner import SERVICE_STAY_DAYS, VEHICLE_COLUMNS

    if anchor in VEHICLE_COLUMNS:
        cars = Vehicle.objects.filter(store_id=store_id, is_active=True,
                                      **{VEHICLE_COLUMNS[anchor]: due_on})
        return [(car.customer, car) for car in cars.select_related("customer")]
    if anchor == Programme.Anchor.SERVICE_OUT:
        from datetime import timedelta

        visits = ServiceVisit.objects.filter(
            store_id=store_id, date_out=due_on, vehicle__is_active=True,
            date_in__gte=due_on - timedelta(days=SERVICE_STAY_DAYS))
        return [(v.customer, v.vehicle) for v in visits.select_related("customer", "vehicle")]
    if anchor == Programme.Anchor.CAMPAIGN:
        members = CampaignMember.objects.filter(campaign_id=key1, vehicle__is_active=True,
                                                came_in_on__isnull=True)
        return [(m.customer, m.vehicle) for m in members.select_related("customer", "vehicle")]
    if anchor == Programme.Anchor.CARE_CLASS:
        reply = "pending" if step.channel == Channel.CALL else "accepted"
        invitations = ClassInvitation.objects.filter(care_class_id=key1, reply=reply)
        return [(i.customer, None) for i in invitations.select_related("customer")]
    customers = Customer.objects.filter(store_id=store_id, birth_date__month=key1,
                                        birth_date__day=key2)
    return [(c, None) for c in customers]


def plan_step(plan, step, rows):
    programme = step.programme
    first_offset = plan._first_offset(programme)
    created = 0
    sms = []
    for row in rows:
        store_id, due_on, planned, nb, ex, key1, _key2 = row
        new = []
        for customer, car in _candidates(step, row):
            if not customer.is_active or customer.merged_into_id:
                continue
            if step.channel == Channel.SMS and not (customer.sms_allowed and customer.mobile):
                continue
            if step.channel == Channel.CALL and not customer.call_allowed:
                continue
            if step.only_until_came_in:
                cycle = Q(programme=programme, due_on=due_on, customer=customer,
                          vehicle=car)
                if Task.objects.filter(cycle, outcome_kind__in=["booked", "refused"]).exists():
                    continue
                if Appointment.objects.filter(cycle).exclude(status="cancelled").exists():
                    continue
                if programme.closes_on_visit and car is not None and car.last_visit_on and \
                        car.last_visit_on >= rules.nominal_date(due_on, first_offset):
                    continue
            status = "planned"
            if step.channel == Channel.SMS:
                status = "expired" if rules.sms_is_stale(ex, plan.now) else "done"
            assignee = None
            if step.channel == Channel.CALL and programme.assign_to_owner and customer.owner_id:
                assignee = customer.owner_id
            new.append(Task(
                store_id=store_id, programme=programme, programme_code=programme.code,
                step=step, customer=customer, vehicle=car,
                campaign_id=key1 if programme.anchor == Programme.Anchor.CAMPAIGN else None,
                care_class_id=key1 if programme.anchor == Programme.Anchor.CARE_CLASS else None,
                due_on=due_on, offset_days=step.offset_days, planned_on=planned,
                deadline_on=(rules.nominal_date(planned, step.due_within_days)
                             if step.channel == Channel.CALL and step.due_within_days else None),
                channel=step.channel, status=status, assignee_id=assignee,
                done_at=plan.now if step.channel == Channel.SMS else None))
        before = Task.objects.filter(step=step, due_on=due_on).count()
        Task.objects.bulk_create(new, ignore_conflicts=True)
        created += Task.objects.filter(step=step, due_on=due_on).count() - before
        if step.channel == Channel.SMS:
            sms.append((due_on, nb, ex))
    if sms:
        _queue_messages(plan, step, sms)
    plan.counts[f"{programme.code}:{step.code}"] = {"tasks": created}
    return created


def _queue_messages(plan, step, windows):
    task_type = ContentType.objects.get_for_model(Task)
    for due_on, not_before, expires_at in windows:
        queued = Message.objects.filter(content_type=task_type).values("object_id")
        tasks = (Task.objects.filter(step=step, due_on=due_on, status="done")
                 .exclude(pk__in=queued)
                 .select_related("customer", "vehicle", "store", "campaign", "care_class"))
        messages = []
        for task in tasks:
            from .templatetags.followups import render_script

            store = task.store
            params = {"name": task.customer.name, "plate": getattr(task.vehicle, "plate", ""),
                      "date": task.due_on.isoformat(), "store": store.name, "phone": store.phone}
            messages.append(Message(
                store=store, recipient=task.customer.mobile,
                sign_name=store.sms_sign_name or settings.SMS_SIGN_NAME or store.name,
                template_code=step.sms_template_code, params=params,
                text=render_script(step.sms_text, task),
                purpose=f"{step.programme.code}:{step.code}", not_before=not_before,
                expires_at=expires_at, dedupe_key=f"followups.task:{task.pk}",
                content_type=task_type, object_id=task.pk))
        Message.objects.bulk_create(messages, ignore_conflicts=True)


def cycles_close_on_visit(*, vehicle_id=None, visited_since=None, now):
    firsts = {}
    for step in Step.objects.filter(is_active=True, programme__closes_on_visit=True):
        firsts[step.programme_id] = min(firsts.get(step.programme_id, step.offset_days),
                                        step.offset_days)
    tasks = Task.objects.filter(status__in=OPEN, programme_id__in=firsts,
                                step__only_until_came_in=True, vehicle__isnull=False,
                                vehicle__last_visit_on__isnull=False).select_related("vehicle")
    if vehicle_id:
        tasks = tasks.filter(vehicle_id=vehicle_id)
    if visited_since:
        tasks = tasks.filter(vehicle__last_visit_on__gte=visited_since)
    ids = [t.pk for t in tasks if rules.visit_closes_cycle(
        t.vehicle.last_visit_on, t.due_on, [firsts[t.programme_id]])]
    return Task.objects.filter(pk__in=ids).update(status="cancelled", cancel_reason="came_in",
                                                  closed_at=now)


def appointments_credit(*, vehicle_id=None):
    days = FollowupSettings.current().appointment_credit_days
    booked = Appointment.objects.filter(status="booked", vehicle__isnull=False)
    if vehicle_id:
        booked = booked.filter(vehicle_id=vehicle_id)
    credited = 0
    for appointment in booked:
        visits = [v for v in ServiceVisit.objects.filter(vehicle_id=appointment.vehicle_id)
                  if rules.appointment_credited(appointment.booked_for, v.date_in, days)]
        if visits:
            visit = min(visits, key=lambda v: (abs((v.date_in - appointment.booked_for).days), v.pk))
            credited += Appointment.objects.filter(pk=appointment.pk, status="booked").update(
                status="came_in", came_in_on=visit.date_in, visit_id=visit.pk)
    return credited


def tasks_assign(*, shares, task_ids=None):
    """shares: {store id: [(user id, count), ...]} from rules.balance_counts."""
    assigned = 0
    for store_id, users in shares.items():
        tasks = Task.objects.filter(store_id=store_id, assignee__isnull=True, channel="call",
                                    status__in=OPEN).order_by("planned_on", "due_on", "id")
        if task_ids is not None:
            tasks = tasks.filter(pk__in=task_ids)
        ids = list(tasks.values_list("pk", flat=True))
        position = 0
        for user_id, count in users:
            chunk = ids[position:position + count]
            position += count
            assigned += Task.objects.filter(pk__in=chunk, assignee__isnull=True).update(
                assignee_id=user_id)
    return assigned


def campaign_draw(*, campaign, cutoff):
    cars = Vehicle.objects.filter(store_id=campaign.store_id, is_active=True,
                                  customer__is_active=True).filter(
        Q(last_visit_on__lte=cutoff) | Q(last_visit_on__isnull=True, delivered_on__lte=cutoff))
    members = [CampaignMember(campaign=campaign, vehicle_id=v.pk, customer_id=v.customer_id,
                              last_visit_on=v.last_visit_on) for v in cars]
    before = campaign.members.count()
    CampaignMember.objects.bulk_create(members, ignore_conflicts=True)
    return campaign.members.count() - before
