"""The customer and correction-request filters of the list pages and of the API: one
FilterSet each."""

import django_filters as filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm_site import validation

from . import selectors
from .models import CorrectionRequest, Customer
from .selectors import DUE_PROGRAMMES, SORTS, CustomerFilters


class IdFilter(filters.Filter):
    """A row id: a whole number within the site's bounds (an id too large is refused)."""

    field_class = forms.IntegerField


class CustomerFilter(validation.FilterSet):
    """The customer list's search and filters (selectors.customer_list does the work):
    `q` a name, mobile fragment, plate, VIN or ID number; `due` a programme whose due
    date falls within `within` days; `lapsed` not seen for a year; `inactive` merged or
    deactivated records too."""

    q = filters.CharFilter(max_length=50, label=_("搜索"), method="keep")
    store = IdFilter(label=_("门店"), method="keep")
    owner = IdFilter(label=_("负责专员"), method="keep")
    due = filters.ChoiceFilter(choices=[(key, key) for key in DUE_PROGRAMMES], label=_("到期"),
                               method="keep")
    within = filters.NumberFilter(min_value=1, max_value=120, label=_("天内"), method="keep")
    # A box on the page ("1") or true/false in the API.
    lapsed = filters.BooleanFilter(label=_("流失客户"), method="keep", widget=forms.CheckboxInput)
    inactive = filters.BooleanFilter(label=_("含已停用"), method="keep", widget=forms.CheckboxInput)
    sort = filters.ChoiceFilter(choices=[(key, key) for key in SORTS], label=_("排序"),
                                method="keep")

    class Meta:
        model = Customer
        fields = []

    def keep(self, queryset, name, value):
        return queryset  # applied together in filter_queryset

    def values(self):
        """The valid filters as the selector takes them."""
        data = validation.filter_values(self)
        return CustomerFilters(
            q=(data["q"] or "").strip(), store=data["store"] or None, owner=data["owner"] or None,
            due=data["due"], due_within=int(data["within"] or 30), lapsed=data["lapsed"] is True,
            include_inactive=data["inactive"] is True, sort=data["sort"] or "-id")

    def filter_queryset(self, queryset):
        return selectors.customer_list(self.request.user, self.values(), queryset=queryset)


class CorrectionFilter(validation.FilterSet):
    """`mine`: only those the user filed."""

    mine = filters.BooleanFilter(method="filter_mine", label=_("只看我提交的"))

    class Meta:
        model = CorrectionRequest
        fields = ["status", "customer", "mine"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(filed_by=self.request.user) if value else queryset
