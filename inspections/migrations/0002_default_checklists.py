"""Default checklists, round times and rectification deadlines from DOMAIN.md section 6.
Each store copies the checklists when its first rounds are planned; managers edit their
copy. Every number here stays editable in the database."""

import datetime

from django.db import migrations

MINOR, MAJOR = "minor", "major"
# area: (name, [times], [(text, weight, photo_required, severity)])
CHECKLISTS = {
    "showroom": ("展厅 5S 检查", [datetime.time(8, 45)], [
        ("展厅温度约25℃", 2, False, MINOR),
        ("营业时间内播放轻柔的背景音乐", 1, False, MINOR),
        ("地面、玻璃、展台干净，无杂物", 2, True, MINOR),
        ("资料架资料齐全、摆放整齐", 1, True, MINOR),
        ("灯光照明全部正常", 1, True, MINOR),
        ("品牌形象硬件（标识、展板）完好、无破损", 2, True, MAJOR),
    ]),
    "customer_lounge": ("客户休息区检查", [datetime.time(8, 45)], [
        ("休息区家具摆放整齐、干净", 2, True, MINOR),
        ("报纸每日更换", 1, True, MINOR),
        ("杂志不超过一个月", 1, True, MINOR),
        ("电视播放品牌宣传片", 1, True, MINOR),
        ("烟灰缸内烟头达到3个即清理，客人离开后立即清理", 2, True, MAJOR),
        ("上网区电脑工作正常", 2, True, MINOR),
    ]),
    "bar": ("吧台检查", [datetime.time(8, 45)], [
        ("饮品充足、及时补充", 2, True, MINOR),
        ("吧台台面干净，器具摆放整齐", 2, True, MINOR),
        ("饮品、食品在保质期内", 3, True, MAJOR),
    ]),
    "restrooms": ("卫生间检查", [datetime.time(8, 45)], [
        ("地面干燥、无异味", 2, True, MAJOR),
        ("纸巾、洗手液充足", 2, True, MINOR),
        ("镜面、洗手台干净", 1, True, MINOR),
    ]),
    "offices": ("办公区 5S 检查", [datetime.time(8, 45)], [
        ("桌面整洁，文件归位", 2, True, MINOR),
        ("工位无私人杂物", 1, True, MINOR),
        ("公告栏信息及时更新", 1, False, MINOR),
    ]),
    "display_cars": ("展车检查", [datetime.time(9, 0), datetime.time(14, 15)], [
        ("车身清洁，无指纹、灰尘、水迹", 3, True, MAJOR),
        ("车内整洁，座椅归位，脚垫干净", 2, True, MAJOR),
        ("轮胎上光，轮毂干净", 1, True, MINOR),
        ("车门未上锁，钥匙放在指定位置", 1, False, MINOR),
        ("价格牌与配置表摆放正确", 1, True, MINOR),
    ]),
    "service_reception": ("服务接待区检查", [datetime.time(8, 45)], [
        ("接待台整洁", 2, True, MINOR),
        ("预约看板及时更新", 1, False, MINOR),
        ("防护三件套（座椅套、方向盘套、脚垫）备齐", 2, True, MINOR),
    ]),
}

# (area or "" for every area, severity, minutes); display cars: 10 minutes from notice.
DEADLINES = [
    ("", MINOR, 240),
    ("", MAJOR, 60),
    ("bar", MAJOR, 30),
    ("restrooms", MAJOR, 30),
    ("display_cars", MINOR, 10),
    ("display_cars", MAJOR, 10),
]


def forwards(apps, schema_editor):
    Template = apps.get_model("inspections", "ChecklistTemplate")
    Item = apps.get_model("inspections", "ChecklistItem")
    Rule = apps.get_model("inspections", "RoundRule")
    Policy = apps.get_model("inspections", "DeadlinePolicy")
    for area, (name, times, items) in CHECKLISTS.items():
        template, created = Template.objects.get_or_create(store=None, area=area, defaults={"name": name})
        if not created:
            continue
        Item.objects.bulk_create(
            Item(template=template, position=position, text=text, weight=weight,
                 photo_required=photo, severity=severity)
            for position, (text, weight, photo, severity) in enumerate(items, start=1)
        )
        Rule.objects.bulk_create(Rule(template=template, time_of_day=t) for t in times)
    for area, severity, minutes in DEADLINES:
        Policy.objects.get_or_create(store=None, area=area, severity=severity, defaults={"minutes": minutes})


def backwards(apps, schema_editor):
    Template = apps.get_model("inspections", "ChecklistTemplate")
    defaults = Template.objects.filter(store=None)
    apps.get_model("inspections", "RoundRule").objects.filter(template__in=defaults).delete()
    apps.get_model("inspections", "ChecklistItem").objects.filter(template__in=defaults).delete()
    defaults.delete()
    apps.get_model("inspections", "DeadlinePolicy").objects.filter(store=None).delete()


class Migration(migrations.Migration):
    dependencies = [("inspections", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
