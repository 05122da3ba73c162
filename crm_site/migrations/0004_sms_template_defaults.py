"""Default SMS templates: one row per kind of message the programmes send, with the
order of its parameters (Tencent Cloud numbers them). The provider template codes are
left blank for the administrator to fill in once the templates are approved; until then
the code itself is sent."""

from django.db import migrations

NAME_DATE = ["store", "name", "plate", "date", "phone"]
TEMPLATES = [
    ("SMS_FIRST_SERVICE", "首保提醒", NAME_DATE),
    ("SMS_PERIODIC_SERVICE", "定保提醒", NAME_DATE),
    ("SMS_INSURANCE_RENEWAL", "续保提醒", NAME_DATE),
    ("SMS_LAPSED_RECALL", "流失客户召回", ["store", "name", "date", "offer", "plate", "phone"]),
    ("SMS_CARE_CLASS", "爱车养护课堂提醒", ["store", "name", "date", "time"]),
    ("SMS_CARE_CLASS_SOON", "爱车养护课堂即将开课", ["store", "name", "time"]),
    ("SMS_BIRTHDAY", "生日祝福", ["store", "name"]),
    ("SMS_CLUB_ACTIVITY", "车友会活动提醒", ["store", "name", "date", "time"]),
    ("SMS_STAFF_NOTICE", "员工紧急通知", ["title"]),
    ("SMS_PASSWORD_CODE", "员工密码重置验证码", ["code", "minutes"]),
]


def load(apps, schema_editor):
    SmsTemplate = apps.get_model("crm_site", "SmsTemplate")
    for code, name, params in TEMPLATES:
        SmsTemplate.objects.get_or_create(code=code, defaults={"name": name,
                                                               "param_names": params})


def unload(apps, schema_editor):
    apps.get_model("crm_site", "SmsTemplate").objects.filter(
        code__in=[code for code, _name, _params in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0003_sms_providers")]
    operations = [migrations.RunPython(load, unload)]
