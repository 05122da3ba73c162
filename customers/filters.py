"""The correction-request filters of the list page and of the API: one FilterSet."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _

from crm_site import validation

from .models import CorrectionRequest


class CorrectionFilter(validation.FilterSet):
    """`mine`: only those the user filed."""

    mine = filters.BooleanFilter(method="filter_mine", label=_("只看我提交的"))

    class Meta:
        model = CorrectionRequest
        fields = ["status", "customer", "mine"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(filed_by=self.request.user) if value else queryset
