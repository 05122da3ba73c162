"""Defaults of the lounge and the owners' club (DOMAIN.md section 9): membership levels,
the club settings row, the club activity programme (invitation call and reminders, as
for a care class), the new-owner club invitation within a week of delivery, and the
permissions of each role."""

from django.db import migrations

from crm_site.roles import grant_permissions

LEVELS = [("standard", "普通会员"), ("silver", "银卡会员"), ("gold", "金卡会员")]

CLUB_WELCOME_SCRIPT = (
    "您好，{name}先生/女士，恭喜您喜提爱车{plate}！我是{store}的关爱专员。"
    "我们有车主俱乐部（车友会），会员可以参加自驾游、爱车课堂和节日活动，"
    "还有专属保养礼遇。诚邀您免费加入，请问您愿意吗？"
    "（客户同意：点“加入车友会”登记，来源选“新车交车邀请”；回访结果选“接通，回访完成”）"
)

PROGRAMMES = [
    # code, name, anchor, order, description, steps
    ("club_welcome", "新车主车友会邀请", "delivery", 15,
     "交车后一周内邀请新车主加入车友会。", [
         ("call-3", 3, "call", "invite", 4, "", "", CLUB_WELCOME_SCRIPT),
     ]),
    ("club_activity", "车友会活动", "care_class", 75,
     "车友会活动（自驾、课堂、节日活动）：电话邀请会员，报名后短信提醒。", [
         ("call-14", -14, "call", "invite", 0, "", "",
          "您好，{name}先生/女士，{store}车友会将于{date}举办会员活动，名额有限，"
          "诚邀您报名参加。请问您能来吗？（记录回复：接受/谢绝）"),
         ("sms-3", -3, "sms", "remind", 0, "SMS_CLUB_ACTIVITY",
          "【{store}】尊敬的{name}，您报名的车友会活动将于{date} {time}开始，期待您的光临。", ""),
         ("sms-1", -1, "sms", "remind", 0, "SMS_CLUB_ACTIVITY",
          "【{store}】尊敬的{name}，车友会活动明天{time}开始，请准时到场。", ""),
     ]),
]

MODELS = ["loungevisit", "loungepreference", "clubmember", "clublevel", "clubsettings"]
PERMISSIONS = {
    "cr_manager": [f"{verb}_{m}" for m in MODELS for verb in ("view", "add", "change")],
    "general_manager": [f"{verb}_{m}" for m in MODELS for verb in ("view", "add", "change")],
    "cr_specialist": ["view_loungevisit", "view_loungepreference", "view_clubmember",
                      "add_clubmember", "change_clubmember", "view_clublevel"],
    "caller": ["view_loungevisit", "view_loungepreference", "view_clubmember",
               "add_clubmember", "view_clublevel"],
    "lounge_attendant": ["view_loungevisit", "add_loungevisit", "change_loungevisit",
                         "view_loungepreference", "add_loungepreference",
                         "change_loungepreference", "view_clubmember", "add_clubmember",
                         "view_clublevel"],
}


def forwards(apps, schema_editor):
    Programme = apps.get_model("followups", "Programme")
    Step = apps.get_model("followups", "Step")
    ClubLevel = apps.get_model("followups", "ClubLevel")
    ClubSettings = apps.get_model("followups", "ClubSettings")

    ClubSettings.objects.get_or_create(pk=1)
    for position, (code, label) in enumerate(LEVELS):
        ClubLevel.objects.get_or_create(code=code, defaults={"label": label, "order": position})
    for code, name, anchor, order, description, steps in PROGRAMMES:
        programme, _ = Programme.objects.get_or_create(code=code, defaults={
            "name": name, "anchor": anchor, "order": order, "description": description})
        for position, (s_code, offset, channel, purpose, within, template, text, script) \
                in enumerate(steps):
            Step.objects.get_or_create(programme=programme, code=s_code, defaults={
                "order": position, "offset_days": offset, "channel": channel,
                "purpose": purpose, "due_within_days": within, "sms_template_code": template,
                "sms_text": text, "script": script})
    grant_permissions(apps, "followups", PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("followups", "0006_lounge_and_club"), ("crm_site", "0002_roles")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
