"""The follow-up filters shared by the list pages and the API: one FilterSet each."""


import django_filters as filters
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from crm_site import validation

from .models import Appointment, Task

UNASSIGNED = "none"


class TaskFilter(validation.FilterSet):
    """The task ledger's filters (the API) and the plan page's: `programme` a programme's
    code, `assignee` a user id or "none" for calls nobody holds."""

    planned_on = filters.DateFromToRangeFilter()
    programme = filters.CharFilter(field_name="programme_code", max_length=50,
                                   label=_("方案"))
    assignee = filters.CharFilter(method="filter_assignee", max_length=12, label=_("回访员"),
                                  validators=[RegexValidator(r"^(none|[0-9]+)$",
                                                             _("应为用户编号或 none。"))])

    class Meta:
        model = Task
        fields = ["planned_on", "status", "assignee", "programme", "channel", "customer",
                  "vehicle"]

    def filter_assignee(self, queryset, name, value):
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))


class AppointmentFilter(validation.FilterSet):
    class Meta:
        model = Appointment
        fields = ["status", "booked_for", "customer", "vehicle", "store"]
