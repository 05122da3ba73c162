from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

SLA_LABELS = {"in_time": _("正常"), "warning": _("即将超时"), "breached": _("已超时")}


@register.filter
def sla_label(state):
    """The words for an SLA state: 正常 / 即将超时 / 已超时."""
    return SLA_LABELS.get(str(state), "")


@register.filter
def duration_text(value):
    """A timedelta as H:MM:SS (days as hours), '—' when missing."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
