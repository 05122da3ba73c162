"""The complaint filters of the board page and of the API: one FilterSet."""

import django_filters as filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_site import validation
from crm_site.models import User
from crm_site.scoping import stores_of

from .models import Complaint
from .selectors import BOARD_STATES, breached_q, warning_q

STATE_LABELS = {"in_time": _("正常"), "warning": _("即将超时"), "breached": _("已超时")}


def _staff(request):
    if not request:
        return User.objects.none()
    return User.objects.filter(stores__in=stores_of(request.user)).distinct()


class ComplaintFilter(validation.FilterSet):
    """store and owner limited to the user's stores; `state` the SLA state now (open
    complaints in time, near their deadline, past it)."""

    store = validation.StoreFilter()
    owner = filters.ModelChoiceFilter(queryset=_staff, label=_("负责人"))
    state = filters.ChoiceFilter(choices=[(s, STATE_LABELS[s]) for s in BOARD_STATES],
                                 method="filter_state", label=_("时限状态"))

    class Meta:
        model = Complaint
        fields = ["store", "status", "severity", "department", "owner", "customer", "category",
                  "is_repeat", "state"]

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == "breached":
            return queryset.filter(breached_q(now))
        if value == "warning":
            return queryset.filter(warning_q(now))
        return queryset.exclude(breached_q(now)).exclude(warning_q(now))
