"""Demo follow-ups for seed_demo: a recall campaign and a car-care class with invited
customers, the lounge's visitors of the day and the owners' club (members over the last
months, a past drive with attendance and feedback, an upcoming festival event), then
the nightly planner for the demo day, so each caller's worklist is full and SMS wait in
the outbox. Idempotent: the planner creates each row once, the campaign, class and
activities are found by name, the lounge and club are seeded once."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from customers.models import Customer

from .models import CareClass, ClassInvitation, ClubLevel, ClubMember, LoungeVisit, Programme, Task
from .planner import campaign_draw, reminders_plan
from .services import (
    care_class_create,
    club_member_join,
    lounge_preference_record,
    lounge_visit_arrive,
    lounge_visit_depart,
    tasks_reassign,
)

LOUNGE_GUESTS = [
    # minutes ago arrived, minutes ago left (None: still waiting), purpose, drink, newspaper, interests
    (200, 150, "service", "美式咖啡", "参考消息", "自驾游"),
    (130, 95, "sales", "绿茶", "", "新能源车型"),
    (70, None, "service", "热牛奶", "汽车之家杂志", "摄影"),
    (35, None, "service", "", "", ""),
    (12, None, "sales", "柠檬水", "", ""),
]
CLUB_SOURCES = ["delivery", "delivery", "lounge", "activity", "referral", "delivery",
                "delivery", "lounge", "delivery", "referral"]


def _seed_lounge(store, attendant, today, out):
    if attendant is None or LoungeVisit.objects.filter(store=store).exists():
        return
    now = timezone.now()
    guests = list(Customer.objects.filter(store=store, is_active=True, card="c")
                  .order_by("id")[20:20 + len(LOUNGE_GUESTS)])
    # A regular whose preferences were kept from a visit last week: the quick find
    # starts the next visit from them.
    regular = Customer.objects.filter(store=store, is_active=True, card="c").order_by("id")[30:31]
    for customer in regular:
        lounge_preference_record(actor=attendant, customer=customer, drink="普洱茶",
                                 newspaper="新民晚报", interests="钓鱼")
    for customer, (came, left, purpose, drink, paper, interests) in zip(guests, LOUNGE_GUESTS, strict=False):
        visit = lounge_visit_arrive(actor=attendant, store=store, customer=customer,
                                    purpose=purpose, drink=drink, newspaper=paper,
                                    interests=interests, now=now - timedelta(minutes=came))
        if left is not None:
            lounge_visit_depart(actor=attendant, visit=visit, now=now - timedelta(minutes=left))
    lounge_visit_arrive(actor=attendant, store=store, purpose="walk_in", name="周先生",
                        mobile="13916660001", drink="矿泉水", interests="SUV",
                        now=now - timedelta(minutes=5))
    out.write(f"followups: {len(guests) + 1} lounge visitors today")


def _seed_club(store, manager, today, out):
    if manager is None or ClubMember.objects.filter(store=store).exists():
        return
    owners = list(Customer.objects.filter(store=store, is_active=True, card="c")
                  .order_by("id")[:len(CLUB_SOURCES)])
    levels = list(ClubLevel.objects.filter(is_active=True).order_by("order"))
    for index, (customer, source) in enumerate(zip(owners, CLUB_SOURCES, strict=False)):
        club_member_join(actor=manager, customer=customer, source=source,
                         level=levels[index % len(levels)] if levels else None,
                         joined_on=today - timedelta(days=25 * index))
    programme = Programme.objects.get(code="club_activity")
    tz = ZoneInfo(store.time_zone)
    # A drive that already took place (entered as it was planned then).
    drive, _created = CareClass.objects.get_or_create(
        store=store, title="千岛湖秋季自驾游", defaults={
            "programme": programme, "kind": CareClass.Kind.DRIVE, "capacity": 20,
            "starts_at": datetime.combine(today - timedelta(days=20), time(8, 30), tz),
            "location": "门店集合", "description": "车友会会员自驾一日游"})
    for index, customer in enumerate(owners[:8]):
        attended = index < 6 if index < 7 else None
        ClassInvitation.objects.get_or_create(care_class=drive, customer=customer, defaults={
            "reply": "accepted" if index < 7 else "declined",
            "replied_at": timezone.now() - timedelta(days=30), "attended": attended,
            "feedback_rating": (5 if index % 2 else 4) if attended else None,
            "feedback": "路线安排很好，希望多组织" if index == 0 else ""})
    festival = care_class_create(
        actor=manager, store=store, kind=CareClass.Kind.FESTIVAL, title="车友会新春联谊会",
        starts_at=datetime.combine(today + timedelta(days=12), time(14, 0), tz), capacity=40,
        location="展厅", description="新春联谊、抽奖和免费检测")
    ClassInvitation.objects.bulk_create(
        [ClassInvitation(care_class=festival, customer=c) for c in owners], ignore_conflicts=True)
    out.write(f"followups: {len(owners)} club members, a past drive and an upcoming festival")


def _seed_sms_outcomes(store, out):
    """What the outbox shows once a provider answers: three reminders handed to the
    (console) backend, one reported delivered and one not, and a customer's 退订 reply
    that withdrew her SMS consent. Once only."""
    from django.utils import timezone

    from crm_site.models import Message, SmsReply
    from crm_site.services import message_receipts_record, sms_reply_receive

    if SmsReply.objects.exists():
        return
    now = timezone.now()
    ready = list(Message.objects.filter(store=store, status=Message.Status.READY)
                 .order_by("id")[:3])
    if len(ready) < 3:
        return
    for n, message in enumerate(ready):
        message.status, message.sent_at = Message.Status.SENT, now
        message.provider, message.provider_id = "console", f"demo-{message.pk}"
        message.attempts = 1
        message.save(update_fields=["status", "sent_at", "provider", "provider_id", "attempts"])
        ready[n] = message
    message_receipts_record(provider="console", receipts=[
        (ready[0].provider_id, True, "", now),
        (ready[1].provider_id, False, "MK:0012 用户停机", now),
    ])
    sms_reply_receive(provider="console", mobile=ready[2].recipient, text="TD", received_at=now,
                      extend_code=store.sms_extend_code)
    out.write("followups: outbox shows a delivered and an undelivered receipt; one TD reply")


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
    _seed_lounge(store, context["staff"].get("lounge_attendant"), today, out)
    _seed_club(store, manager, today, out)
    counts = reminders_plan(day=today)
    caller = context["staff"].get("caller")
    if manager and caller and not Task.objects.worklist(today).filter(assignee=caller).exists():
        # The demo customers all belong to the CR specialist; the manager spreads the
        # day's calls over the team, as they would on the bulk-reassign page.
        ids = list(Task.objects.worklist(today).filter(store=store).values_list("pk", flat=True))
        if ids:
            tasks_reassign(actor=manager, task_ids=ids)
    _seed_sms_outcomes(store, out)
    open_calls = Task.objects.open().calls().filter(planned_on__lte=today).count()
    out.write(f"followups: planned {today} (assigned {counts.get('assigned', 0)}, "
              f"{open_calls} open calls); campaign and class ready")
    return counts


