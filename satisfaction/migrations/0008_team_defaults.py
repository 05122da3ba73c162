"""Defaults of DOMAIN.md section 9 (the team): training plans (brand-standard study
weekly, etiquette and process training monthly), targets of the per-person KPIs, the
incentive rules (reward per mystery-shopper check of 90 or more, penalty below 85, a
penalty per display car not fixed in time), staff greetings (birthday, New Year's Day,
Spring Festival, Mid-autumn, National Day) and who may do what with the team records.
Managers edit all of it afterwards."""

from decimal import Decimal

from django.db import migrations

from crm_site.roles import Role, grant_permissions

PLANS = [
    # code, name, frequency
    ("brand_standard", "品牌标准学习", "weekly"),
    ("etiquette", "礼仪培训", "monthly"),
    ("process", "流程培训", "monthly"),
]

TARGETS = [
    # measure, value, threshold, note
    ("calls_made", "300", None, "每人每月拨打电话不少于300个"),
    ("reach_rate", "80", "70", "接通率不低于80%"),
    ("booking_rate", "30", "20", "接通后预约率不低于30%"),
    ("came_in_rate", "80", "70", "预约进厂率不低于80%"),
    ("complaint_sla", "100", "95", "投诉30分钟响应、24小时解决"),
    ("rectification_on_time", "100", "90", "整改在时限内完成"),
]

RULES = [
    # kind, threshold, amount, note
    ("ms_reward", "90", "200", "神秘访客得分90分及以上，每次奖励"),
    ("ms_penalty", "85", "100", "神秘访客得分低于85分，每次处罚"),
    ("display_car_penalty", None, "50", "展车通知后10分钟内未整改，每次处罚"),
]

GREETINGS = [
    # name, occasion, month, day, festival, template code, text
    ("员工生日祝福", "birthday", None, None, "", "STAFF_BIRTHDAY",
     "{name}，祝您生日快乐！感谢您对客户关爱工作的付出。"),
    ("元旦问候", "festival", None, None, "new_years_day", "STAFF_HOLIDAY",
     "{name}，新年快乐！感谢您一年来的辛勤付出。"),
    ("春节问候", "festival", None, None, "spring_festival", "STAFF_HOLIDAY",
     "{name}，春节快乐！祝您和家人新春吉祥、万事如意。"),
    ("中秋问候", "festival", None, None, "mid_autumn_festival", "STAFF_HOLIDAY",
     "{name}，中秋快乐！祝您阖家团圆。"),
    ("国庆问候", "festival", None, None, "national_day", "STAFF_HOLIDAY",
     "{name}，国庆快乐！感谢您的坚守与付出。"),
]

VIEW = ["view_team", "view_trainingplan", "view_trainingsession", "view_trainingattendance",
        "view_smilevote", "add_smilevote", "view_onetoonetalk", "view_incentiverule"]
MANAGER = VIEW + [
    "manage_team", "change_trainingplan", "add_trainingsession", "change_trainingsession",
    "add_trainingattendance", "change_trainingattendance", "add_onetoonetalk",
    "change_onetoonetalk", "add_incentiverule", "change_incentiverule", "view_staffgreeting",
    "add_staffgreeting", "change_staffgreeting",
]
PERMISSIONS = {
    Role.CR_MANAGER: MANAGER,
    Role.GENERAL_MANAGER: MANAGER,
    Role.SALES_MANAGER: VIEW,
    Role.SERVICE_MANAGER: VIEW,
    Role.CALLER: VIEW,
    Role.CR_SPECIALIST: VIEW,
    Role.LOUNGE_ATTENDANT: VIEW,
}


def forwards(apps, schema_editor):
    Plan = apps.get_model("satisfaction", "TrainingPlan")
    Target = apps.get_model("satisfaction", "Target")
    Rule = apps.get_model("satisfaction", "IncentiveRule")
    Greeting = apps.get_model("satisfaction", "StaffGreeting")
    for code, name, frequency in PLANS:
        Plan.objects.get_or_create(store=None, code=code, defaults={"name": name, "frequency": frequency})
    for measure, value, threshold, note in TARGETS:
        Target.objects.get_or_create(measure=measure, store=None, period=None, defaults={
            "value": Decimal(value), "threshold": Decimal(threshold) if threshold else None,
            "note": note})
    for kind, threshold, amount, note in RULES:
        Rule.objects.get_or_create(store=None, kind=kind, defaults={
            "threshold": Decimal(threshold) if threshold else None, "amount": Decimal(amount),
            "note": note})
    for name, occasion, month, day, festival, code, text in GREETINGS:
        Greeting.objects.get_or_create(store=None, name=name, defaults={
            "occasion": occasion, "month": month, "day": day, "festival": festival,
            "template_code": code, "text": text})
    grant_permissions(apps, "satisfaction", {str(role): perms for role, perms in PERMISSIONS.items()})


def backwards(apps, schema_editor):
    apps.get_model("satisfaction", "Target").objects.filter(
        store=None, period=None, measure__in=[t[0] for t in TARGETS]).delete()


class Migration(migrations.Migration):
    dependencies = [("satisfaction", "0007_team_records")]
    operations = [migrations.RunPython(forwards, backwards)]
