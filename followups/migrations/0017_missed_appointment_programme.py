"""The "missed appointment" programme: an appointment not kept by the end of its day is
marked no-show the next night, and the day after its date (N+1) a specialist calls to
learn why and book again, until N+7 or until the car comes in. Editable like any."""

from django.db import migrations

SCRIPT = (
    "您好，{name}先生/女士，我是{store}的关爱专员。您预约了{date}到店，我们没有等到您，"
    "想确认一下是否遇到什么情况？（记录原因）如方便，帮您重新预约一个时间好吗？"
)


def forwards(apps, schema_editor):
    Programme = apps.get_model("followups", "Programme")
    Step = apps.get_model("followups", "Step")
    programme, _ = Programme.objects.get_or_create(code="missed_appointment", defaults={
        "name": "预约未到店回访", "anchor": "appointment", "closes_on_visit": True, "order": 45,
        "description": "预约当天未到店，次日致电了解原因并重新预约；车辆进厂即结束。"})
    Step.objects.get_or_create(programme=programme, code="call1", defaults={
        "order": 0, "offset_days": 1, "channel": "call", "purpose": "learn_why",
        "script": SCRIPT, "only_until_came_in": True, "window_end_days": 7})


class Migration(migrations.Migration):
    dependencies = [("followups", "0016_missed_appointment")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
