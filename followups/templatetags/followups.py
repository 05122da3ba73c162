from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def render_script(text, task):
    """Fill a script's or SMS text's {placeholders} with the task's customer and car."""
    values = {
        "name": task.customer.name,
        "plate": getattr(task.vehicle, "plate", "") or "",
        "model": getattr(task.vehicle, "model_name", "") or "",
        "date": task.due_on.isoformat(),
        "store": task.store.name,
        "phone": task.store.phone,
        "offer": getattr(task.campaign, "offer", "") if task.campaign_id else "",
        "time": (timezone.localtime(task.care_class.starts_at).strftime("%H:%M")
                 if task.care_class_id else ""),
    }
    text = text or ""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text
