"""The filters of the satisfaction list pages and of the API: one FilterSet each."""

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm_site import validation

from . import rules
from .models import ImprovementPlan, ManufacturerReport, MysteryShopCheck, Survey, WeakItem


class MonthField(forms.Field):
    """A month as people type it (2026-05, 2026/5, 202605, 2026年5月): its first day."""

    def to_python(self, value):
        value = str(value or "").strip()[:20]
        if not value:
            return None
        try:
            return rules.parse_period(value)
        except ValueError:
            raise ValidationError(_("期间格式应为 2026-05。"), code="invalid") from None


class MonthFilter(filters.Filter):
    field_class = MonthField


class ReportFilter(validation.FilterSet):
    store = validation.StoreFilter()
    survey = filters.ChoiceFilter(choices=Survey.choices, label=_("调查"))
    period = MonthFilter(label=_("月份"))
    page_fields = ("store", "survey", "period")

    class Meta:
        model = ManufacturerReport
        fields = ["store", "survey", "period"]


class WeakItemFilter(validation.FilterSet):
    store = validation.StoreFilter()
    survey = filters.ChoiceFilter(choices=Survey.choices, label=_("调查"))
    period = MonthFilter(label=_("月份"))
    without_plan = filters.BooleanFilter(field_name="plans", lookup_expr="isnull",
                                         widget=forms.CheckboxInput, label=_("尚无改善计划"),
                                         method="filter_without_plan")
    page_fields = ("store", "survey", "period", "without_plan")

    class Meta:
        model = WeakItem
        fields = ["store", "survey", "period", "without_plan"]

    def filter_without_plan(self, queryset, name, value):
        return queryset.filter(plans__isnull=True) if value else queryset


class ImprovementPlanFilter(validation.FilterSet):
    """`status=open`: every plan not closed."""

    store = validation.StoreFilter()
    status = filters.ChoiceFilter(choices=[("open", _("未关闭")), *ImprovementPlan.Status.choices],
                                  method="filter_status", label=_("状态"))
    page_fields = ("store", "status", "department")

    class Meta:
        model = ImprovementPlan
        fields = ["store", "status", "step", "department", "owner", "weak_item"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.exclude(status=ImprovementPlan.Status.CLOSED)
        return queryset.filter(status=value)


class MysteryShopCheckFilter(validation.FilterSet):
    """`period`: checks made in that month."""

    store = validation.StoreFilter()
    period = MonthFilter(method="filter_period", label=_("月份"))
    page_fields = ("store", "period", "kind")

    class Meta:
        model = MysteryShopCheck
        fields = ["store", "period", "staff", "kind"]

    def filter_period(self, queryset, name, value):
        return queryset.filter(checked_on__gte=value, checked_on__lt=rules.add_months(value, 1))
