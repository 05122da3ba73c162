"""Default programmes of DOMAIN.md section 4 (with the codes of the issue), their steps,
SMS templates and call scripts, satisfaction questions, refusal reasons, call outcomes
and the engine settings. Managers edit all of it afterwards."""

from django.db import migrations

FOLLOWUP_SCRIPT = (
    "您好，请问是{name}先生/女士吗？我是{store}客户关爱中心的回访专员。"
    "感谢您选择我们，占用您两分钟做个简短回访可以吗？\n"
    "1. 依次询问满意度问题，记录评价与原因；\n"
    "2. 如客户提出问题或抱怨，先致歉并记录，告知当天转交责任部门，24小时内答复；\n"
    "3. 核对客户信息（电话、地址、车牌），有误请提交信息修正单；\n"
    "4. 感谢客户，祝行车愉快。"
)
INVITE_SCRIPT = (
    "您好，{name}先生/女士，我是{store}的关爱专员。您的爱车{plate}将于{date}到达{what}时间，"
    "为保障行车安全和厂家保修，建议按时进店。请问您哪天方便？我帮您预约，到店免排队。"
)
AGAIN_SCRIPT = (
    "您好，{name}先生/女士，再次提醒您的爱车{plate}{what}将于{date}到期。"
    "本周还有预约名额，请问帮您安排在哪一天？"
)
WHY_SCRIPT = (
    "您好，{name}先生/女士，您的爱车{plate}{what}即将到期，我们注意到您还没有预约。"
    "方便告诉我们原因吗？（记录原因：搬迁、在外保养、车辆已售、太忙、价格、不满意等）"
)

PROGRAMMES = [
    # code, name, anchor, closes_on_visit, order, steps, questions
    ("post_delivery_followup", "新车交车回访", "delivery", False, 10, [
        ("call", 1, "call", "satisfaction", 6, "", "", FOLLOWUP_SCRIPT, False, True),
    ], [
        ("sales_overall", "对销售顾问的整体服务是否满意？", "sales"),
        ("delivery", "交车过程（车辆讲解、手续办理）是否满意？", "sales"),
        ("vehicle", "对新车本身是否满意？", "sales"),
    ]),
    ("post_service_followup", "维修保养回访", "service_out", False, 20, [
        ("call", 1, "call", "satisfaction", 6, "", "", FOLLOWUP_SCRIPT, False, True),
    ], [
        ("advisor", "对服务顾问的接待是否满意？", "service"),
        ("quality", "维修保养质量是否满意？", "service"),
        ("time", "交车时间是否满意？", "service"),
        ("price", "收费是否合理？", "service"),
    ]),
    ("first_service", "首保提醒", "first_service", True, 30, [
        ("sms-15", -15, "sms", "remind", 0, "SMS_FIRST_SERVICE",
         "【{store}】尊敬的{name}，您的爱车{plate}首次保养将于{date}到期，请提前预约进店，"
         "电话{phone}。", "", True, False),
        ("call-14", -14, "call", "invite", 0, "", "", INVITE_SCRIPT.replace("{what}", "首保"),
         True, False),
        ("call-7", -7, "call", "invite_again", 0, "", "", AGAIN_SCRIPT.replace("{what}", "首保"),
         True, False),
        ("call-3", -3, "call", "learn_why", 0, "", "", WHY_SCRIPT.replace("{what}", "首保"),
         True, False),
    ], []),
    ("periodic_service", "定保提醒", "next_service", True, 40, [
        ("sms-15", -15, "sms", "remind", 0, "SMS_PERIODIC_SERVICE",
         "【{store}】尊敬的{name}，您的爱车{plate}下次保养日为{date}，请提前预约进店，"
         "电话{phone}。", "", True, False),
        ("call-14", -14, "call", "invite", 0, "", "", INVITE_SCRIPT.replace("{what}", "定期保养"),
         True, False),
        ("call-7", -7, "call", "invite_again", 0, "", "",
         AGAIN_SCRIPT.replace("{what}", "定期保养"), True, False),
        ("call-3", -3, "call", "learn_why", 0, "", "", WHY_SCRIPT.replace("{what}", "定期保养"),
         True, False),
    ], []),
    ("insurance_renewal", "续保提醒", "insurance", False, 50, [
        ("sms-65", -65, "sms", "remind", 0, "SMS_INSURANCE_RENEWAL",
         "【{store}】尊敬的{name}，您的爱车{plate}保险将于{date}到期，本店续保享专属礼遇，"
         "详询{phone}。", "", True, False),
        ("call-60", -60, "call", "invite", 0, "", "", INVITE_SCRIPT.replace("{what}", "保险续保"),
         True, False),
        ("call-50", -50, "call", "invite_again", 0, "", "",
         AGAIN_SCRIPT.replace("{what}", "保险"), True, False),
        ("call-30", -30, "call", "learn_why", 0, "", "",
         WHY_SCRIPT.replace("{what}", "保险") + "\n记录拒绝原因并反馈给续保部门。", True, False),
    ], []),
    ("lapsed_recall", "流失客户召回", "campaign", True, 60, [
        ("list-40", -40, "list", "draw_list", 0, "", "", "", True, False),
        ("sms-30", -30, "sms", "offer", 0, "SMS_LAPSED_RECALL",
         "【{store}】尊敬的{name}，好久不见！{date}本店举办服务节：{offer}。"
         "欢迎携爱车{plate}回店，预约电话{phone}。", "", True, False),
        ("call-25", -25, "call", "invite", 0, "", "",
         "您好，{name}先生/女士，我是{store}的关爱专员。我们{date}有服务活动：{offer}。"
         "您的爱车{plate}好久没回店检查了，欢迎参加，帮您预约好吗？", True, False),
        ("call-15", -15, "call", "invite_again", 0, "", "",
         "再次介绍活动优惠：{offer}。请问哪天方便回店？", True, False),
        ("call-7", -7, "call", "learn_why", 0, "", "",
         "了解客户不回店的原因（搬迁、在外保养、车辆已售、价格、不满意等），如实记录并反馈。",
         True, False),
    ], []),
    ("care_class", "爱车养护课堂", "care_class", False, 70, [
        ("call-20", -20, "call", "invite", 0, "", "",
         "您好，{name}先生/女士，{store}将于{date}举办爱车养护课堂，讲解日常用车与保养知识，"
         "名额有限，诚邀您参加。请问您能来吗？（记录回复：接受/谢绝）", False, False),
        ("sms-5", -5, "sms", "remind", 0, "SMS_CARE_CLASS",
         "【{store}】尊敬的{name}，爱车养护课堂将于{date} {time}开课，期待您的光临。", "",
         False, False),
        ("sms-1", -1, "sms", "remind", 0, "SMS_CARE_CLASS",
         "【{store}】尊敬的{name}，爱车养护课堂明天{time}开课，期待您的光临。", "",
         False, False),
        ("sms-2h", 0, "sms", "remind", 0, "SMS_CARE_CLASS_SOON",
         "【{store}】尊敬的{name}，爱车养护课堂今天{time}开课，请准时到场。", "", False, False),
    ], []),
    ("birthday", "生日祝福", "birthday", False, 80, [
        ("sms-0", 0, "sms", "greeting", 0, "SMS_BIRTHDAY",
         "【{store}】尊敬的{name}，今天是您的生日，{store}全体员工祝您生日快乐，一路平安！",
         "", False, False),
    ], []),
]

REFUSAL_REASONS = [
    ("moved_away", "已搬迁外地"),
    ("serviced_elsewhere", "在其他店保养"),
    ("car_sold", "车辆已出售"),
    ("too_busy", "工作太忙"),
    ("price", "价格原因"),
    ("dissatisfied", "对服务不满意"),
    ("low_mileage", "里程未到"),
    ("insured_elsewhere", "已在他处投保"),
    ("other", "其他"),
]

OUTCOMES = [
    # code, label, kind, hotkey
    ("booked", "接通，已预约", "booked", "1"),
    ("reached", "接通，回访完成", "reached", "2"),
    ("refused", "接通，拒绝", "refused", "3"),
    ("will_consider", "接通，再考虑", "reached", "4"),
    ("no_answer", "无人接听", "unreachable", "5"),
    ("busy", "占线", "unreachable", "6"),
    ("switched_off", "关机", "unreachable", "7"),
    ("suspended", "停机", "unreachable", "8"),
]


def forwards(apps, schema_editor):
    FollowupSettings = apps.get_model("followups", "FollowupSettings")
    Programme = apps.get_model("followups", "Programme")
    Step = apps.get_model("followups", "Step")
    Question = apps.get_model("followups", "SatisfactionQuestion")
    RefusalReason = apps.get_model("followups", "RefusalReason")
    Outcome = apps.get_model("followups", "Outcome")

    FollowupSettings.objects.get_or_create(pk=1)
    for code, name, anchor, closes, order, steps, questions in PROGRAMMES:
        programme, _ = Programme.objects.get_or_create(code=code, defaults={
            "name": name, "anchor": anchor, "closes_on_visit": closes, "order": order})
        for position, (s_code, offset, channel, purpose, within, template, text, script,
                       only_until, asks) in enumerate(steps):
            Step.objects.get_or_create(programme=programme, code=s_code, defaults={
                "order": position, "offset_days": offset, "channel": channel,
                "purpose": purpose, "due_within_days": within, "sms_template_code": template,
                "sms_text": text, "script": script, "only_until_came_in": only_until,
                "asks_satisfaction": asks,
                "offset_minutes": -120 if s_code == "sms-2h" else None,
            })
        for position, (q_code, text, department) in enumerate(questions):
            Question.objects.get_or_create(programme=programme, code=q_code, defaults={
                "text": text, "department": department, "order": position})
    for position, (code, label) in enumerate(REFUSAL_REASONS):
        RefusalReason.objects.get_or_create(code=code, defaults={"label": label, "order": position})
    for position, (code, label, kind, hotkey) in enumerate(OUTCOMES):
        Outcome.objects.get_or_create(code=code, defaults={
            "label": label, "kind": kind, "hotkey": hotkey, "order": position})


class Migration(migrations.Migration):
    dependencies = [("followups", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
