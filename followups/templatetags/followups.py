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


@register.filter
def channel_label(code):
    """The name of a channel read as a code (rows from .values())."""
    from followups.models import Channel

    return Channel(code).label if code in Channel.values else code


@register.filter
def task_status_label(code):
    """The name of a task status read as a code (rows from .values())."""
    from followups.models import Task

    return Task.Status(code).label if code in Task.Status.values else code
