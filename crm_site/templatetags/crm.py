from django import template

register = template.Library()


@register.filter
def mask_mobile(value):
    """138****5678: the middle four digits of a mobile hidden."""
    value = str(value or "")
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"
