"""Demo complaints for seed_demo: open complaints in every SLA state relative to the
moment seed_demo runs (in time, warning, breached, paused, reissued, an important one),
so the board shows its colours on the demo day. Idempotent: a store that already has
its demo complaints is left alone."""

from datetime import timedelta

from customers.models import Customer

from . import services
from .models import Complaint, SlaPolicy

# (minutes since received, steps, fields)
SCENARIOS = [
    (5, [], {"category": "waiting", "channel": "walk_in",
             "description": "保养等待时间超过两小时，休息区无人告知进度。"}),
    (26, [], {"category": "attitude", "channel": "phone",
              "description": "客户来电：服务顾问电话中语气不耐烦。"}),
    (50, [], {"category": "price", "channel": "followup_call",
              "description": "回访时客户反映工时费比报价高出300元。"}),
    (8, [], {"category": "technical", "channel": "phone", "severity": "important",
             "important_reasons": "AF",
             "description": "刹车异响，客户担心安全，要求换车或赔偿。"}),
    (180, ["respond", "pause"], {"category": "parts", "channel": "phone",
                                 "description": "定保所需机油滤清器缺货，客户等待到货。"}),
    (21 * 60, ["respond", "hand_off"], {"category": "service_quality", "channel": "survey",
                                        "description": "满意度调查：洗车不干净，内饰有污渍。"}),
    (25 * 60, ["respond", "hand_off"], {"category": "facility", "channel": "online",
                                        "description": "网上留言：客户休息区空调不制冷。"}),
    (20 * 60, ["respond", "hand_off", "feedback", "resolve", "unsatisfied"],
     {"category": "product", "channel": "manufacturer",
      "description": "厂家热线转来：中控屏反复死机，已维修一次仍未解决。"}),
]


def seed(context):
    store, staff, out = context["store"], context["staff"], context["stdout"]
    if not SlaPolicy.objects.filter(store=store).exists():
        # The store's own clock for important complaints (settings: 投诉时限规则).
        services.sla_policy_set(actor=staff["cr_manager"], store=store, severity="important",
                                note="本店标准：重要投诉20分钟内响应", response_minutes=20)
    if Complaint.objects.filter(store=store, description=SCENARIOS[0][2]["description"]).exists():
        out.write("complaints: demo complaints already present")
        return
    customers = list(Customer.objects.filter(store=store, is_active=True)
                     .prefetch_related("vehicles").order_by("id")[:len(SCENARIOS)])
    while len(customers) < len(SCENARIOS):
        customers.append(Customer.objects.create(store=store, name=f"演示客户{len(customers) + 1}",
                                                 mobile=f"1390000{len(customers):04d}"))
    caller, specialist = staff["caller"], staff["cr_specialist"]
    now = services.now_seconds()
    for index, ((minutes, steps, fields), customer) in enumerate(zip(SCENARIOS, customers,
                                                                     strict=True)):
        actor = caller if index % 2 == 0 else specialist
        received = now - timedelta(minutes=minutes)
        vehicle = next(iter(customer.vehicles.all()), None)
        complaint = services.complaint_open(actor=actor, customer=customer, vehicle=vehicle,
                                            received_at=received, **fields)
        for step in steps:
            if step == "respond":
                services.complaint_respond(actor=actor, complaint=complaint, channel="phone",
                                           note="已致电客户致歉并说明处理流程。",
                                           contacted_at=received + timedelta(minutes=12))
            elif step == "pause":
                services.complaint_pause(actor=actor, complaint=complaint,
                                         reason="等待厂家配件到货")
            elif step == "hand_off":
                services.complaint_hand_off(actor=actor, complaint=complaint, department="service")
            elif step == "feedback":
                services.complaint_record_department_feedback(
                    actor=staff["service_manager"], complaint=complaint,
                    feedback="已刷新中控系统软件。", root_cause="软件版本过旧")
            elif step == "resolve":
                services.complaint_resolve(actor=actor, complaint=complaint,
                                           resolution="升级软件并试车正常。")
            elif step == "unsatisfied":
                services.complaint_record_callback(actor=actor, complaint=complaint,
                                                   satisfied=False,
                                                   note="客户表示两天后再次死机，不满意。")
    counts = services.complaints_sweep()
    out.write(f"complaints: {len(SCENARIOS)} demo complaints, sweep {counts}")
