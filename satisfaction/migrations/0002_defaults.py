"""Defaults of DOMAIN.md section 7 and 3: targets for every store (follow-up rate 80 %,
satisfied share 98 %, mystery shopper 90 points with 85 as the threshold, CSS/CSI plan of
950 points securing grade B and striving for A, top 40 of the region), the satisfaction
policy (analysis meeting within 3 days, the 3 lowest items are weak) and standard
mystery-shopper items. Managers edit all of it afterwards."""

from decimal import Decimal

from django.db import migrations

TARGETS = [
    # measure, value, threshold, secure grade, strive grade, note
    ("followup_rate", "80", None, "", "", "回访率（接通/应回访）不低于80%"),
    ("satisfied_share", "98", None, "", "", "满意率不低于98%"),
    ("ms_score", "90", "85", "", "", "神秘访客目标90分，85分为底线"),
    ("ms_item", "90", "85", "", "", "神秘访客单项得分率"),
    ("css_score", "950", None, "B", "A", "计划950分；确保B级，力争A级"),
    ("csi_score", "950", None, "B", "A", "计划950分；确保B级，力争A级"),
    ("css_rank", "40", None, "", "", "区域前40名"),
    ("csi_rank", "40", None, "", "", "区域前40名"),
    ("css_item", "950", None, "", "", "单项低于计划分即为薄弱项"),
    ("csi_item", "950", None, "", "", "单项低于计划分即为薄弱项"),
    ("complaint_response", "100", None, "", "", "投诉30分钟内响应"),
    ("complaint_resolution", "100", None, "", "", "投诉24小时内解决"),
]

MS_ITEMS = [
    # department, code, name, max points
    ("sales", "S01", "客户进店30秒内主动问候", 10),
    ("sales", "S02", "了解客户需求（用途、预算、关注点）", 10),
    ("sales", "S03", "六方位绕车介绍", 15),
    ("sales", "S04", "主动邀请试乘试驾", 15),
    ("sales", "S05", "报价及金融、保险方案解释清楚", 15),
    ("sales", "S06", "展厅与展车整洁", 10),
    ("sales", "S07", "留取联系方式并约定跟进", 10),
    ("sales", "S08", "送别客户至门口", 15),
    ("service", "A01", "客户到店1分钟内接待", 10),
    ("service", "A02", "环车检查并记录", 15),
    ("service", "A03", "说明维修项目、费用与交车时间", 20),
    ("service", "A04", "休息区服务（饮品、报刊、网络）", 10),
    ("service", "A05", "交车时解释已做项目并展示旧件", 20),
    ("service", "A06", "车辆清洁、座椅与地板保护", 10),
    ("service", "A07", "告知下次保养时间并预约", 15),
]


def forwards(apps, schema_editor):
    Target = apps.get_model("satisfaction", "Target")
    Policy = apps.get_model("satisfaction", "SatisfactionPolicy")
    Item = apps.get_model("satisfaction", "MysteryShopItem")
    for measure, value, threshold, secure, strive, note in TARGETS:
        Target.objects.get_or_create(measure=measure, store=None, period=None, defaults={
            "value": Decimal(value), "threshold": Decimal(threshold) if threshold else None,
            "secure_grade": secure, "strive_grade": strive, "note": note})
    Policy.objects.get_or_create(store=None, defaults={"meeting_due_days": 3, "bottom_n": 3})
    for order, (department, code, name, points) in enumerate(MS_ITEMS):
        Item.objects.get_or_create(store=None, department=department, code=code, defaults={
            "name": name, "max_points": points, "order": order})


def backwards(apps, schema_editor):
    apps.get_model("satisfaction", "Target").objects.filter(store=None, period=None).delete()
    apps.get_model("satisfaction", "SatisfactionPolicy").objects.filter(store=None).delete()


class Migration(migrations.Migration):
    dependencies = [("satisfaction", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
