"""What input the site accepts, in one place: dates within a plausible range, numbers
within their column, free text of bounded length and without control characters. Forms,
API serializers, filters and hand-read query parameters all use these rules; what breaks
one is refused with a 400 that names the field, never a 500 and never a half-saved row.
"""

import json
import unicodedata
from datetime import date, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.shortcuts import render
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers

from .errors import invalid_response

# Dates a dealership records (births, sales, visits, report ranges) lie in this range.
EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)
# Matches the range above in the API schema, so clients know it too.
DATE_PATTERN = r"^(19|20)\d\d-"
# Free text with no column limit (notes, descriptions), and any one query parameter
# (a search, or a page to go back to with its own query).
LONGEST_TEXT = 4000
LONGEST_QUERY = 1000
# Any one value a form or JSON body carries, whatever the page does with it (a pasted
# list of mobiles is the longest a person sends).
LONGEST_VALUE = 20_000
# Integers as PostgreSQL's integer column holds them.
SMALLEST_INT = -(2**31)
LARGEST_INT = 2**31 - 1
# A report over a date range covers at most this many days.
LONGEST_RANGE_DAYS = 3 * 366

# What the query parameters hand-read by pages are called on screen.
QUERY_LABELS = {
    "start": _("开始日期"),
    "end": _("结束日期"),
    "day": _("日期"),
    "week": _("周"),
    "period": _("期间"),
    "q": _("搜索"),
    "search": _("搜索"),
    "page": _("页码"),
    "store": _("门店"),
    "staff": _("员工"),
    "owner": _("负责人"),
    "assignee": _("回访员"),
    "customer": _("客户"),
    "weak_item": _("薄弱项"),
    "per_page": _("每页"),
    "non_field_errors": _("输入"),
}

CONTROL_MESSAGE = _("不能包含控制字符。")


def refused_character(text):
    """The first character PostgreSQL or a person's screen cannot take: a control
    character other than tab and line breaks, or half of a surrogate pair. None if clean."""
    for char in text:
        if char in "\t\n\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def _label(name):
    return QUERY_LABELS.get(name, name)


def refuse(name, message):
    """The ValidationError naming `name`: a 400 in the API and on pages."""
    return ValidationError({name: [message]})


@deconstructible
class NoControlCharacters:
    message = CONTROL_MESSAGE
    code = "control_character"

    def __call__(self, value):
        if isinstance(value, str) and refused_character(value) is not None:
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, NoControlCharacters)


@deconstructible
class PlausibleDate:
    """A date (or the day of a datetime) between EARLIEST and LATEST."""

    code = "implausible_date"

    def __call__(self, value):
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not EARLIEST <= day <= LATEST:
            raise ValidationError(
                _("日期应在 %(earliest)s 至 %(latest)s 之间。"), code=self.code,
                params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})

    def __eq__(self, other):
        return isinstance(other, PlausibleDate)


def _has(validators, kind):
    return any(isinstance(each, kind) for each in validators)


# Query parameters read by hand ------------------------------------------------------------------


def query_date(params, name, default):
    """The date in ?name=YYYY-MM-DD, else `default`. A malformed or implausible one is
    refused (ValidationError naming the parameter)."""
    text = params.get(name) or ""
    if not text:
        return default
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise refuse(name, _("日期格式应为 YYYY-MM-DD。")) from None
    try:
        PlausibleDate()(day)
    except ValidationError as error:
        raise refuse(name, error.messages[0]) from None
    return day


def date_range_problem(first, last, longest=LONGEST_RANGE_DAYS):
    """Why [first, last] is no range a report may cover (the end before the start, or
    longer than `longest` days: a report over centuries would hold a worker for
    minutes), else None."""
    if last < first:
        return _("不能早于开始日期。")
    if (last - first).days > longest:
        return _("日期范围最多 %(days)s 天。") % {"days": longest}
    return None


def query_date_range(params, default_start, default_end, start="start", end="end",
                     longest=LONGEST_RANGE_DAYS):
    """(start, end) from ?start=&end=, each plausible, in order and at most `longest`
    days apart."""
    first = query_date(params, start, default_start)
    last = query_date(params, end, default_end)
    problem = date_range_problem(first, last, longest)
    if problem:
        raise refuse(end, problem)
    return first, last


def query_int(params, name, default=None, low=SMALLEST_INT, high=LARGEST_INT):
    """The whole number in ?name=, else `default`; outside [low, high] or not a number
    is refused."""
    text = params.get(name) or ""
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        raise refuse(name, _("应为整数。")) from None
    if not low <= number <= high:
        raise refuse(name, _("应在 %(low)s 至 %(high)s 之间。") % {"low": low, "high": high})
    return number




def query_choice(params, name, choices, default=""):
    """The value of ?name= if it is one of `choices`, else `default` when absent; any
    other value is refused rather than silently ignored."""
    text = params.get(name) or ""
    if not text:
        return default
    if text not in choices:
        raise refuse(name, _("“%(value)s” 不是可选的值。") % {"value": text[:40]})
    return text


def query_bool(params, name):
    """?name=1/true/0/false as a bool (absent: False); anything else is refused."""
    return query_choice(params, name, ("1", "true", "0", "false"), "0") in ("1", "true")


# Forms -----------------------------------------------------------------------------------------


def bound_form_field(field):
    """Adds the site's bounds to one form field, keeping any tighter ones it has."""
    if isinstance(field, forms.MultiValueField):
        for each in field.fields:
            bound_form_field(each)
    if isinstance(field, forms.CharField):
        if field.max_length is None:
            field.max_length = LONGEST_TEXT
            field.validators.append(MaxLengthValidator(LONGEST_TEXT))
        field.validators.append(NoControlCharacters())
    elif isinstance(field, (forms.DateField, forms.DateTimeField)):
        field.validators.append(PlausibleDate())
    elif isinstance(field, forms.IntegerField) and not isinstance(
            field, (forms.FloatField, forms.DecimalField)):
        if not _has(field.validators, MaxValueValidator):
            field.validators.append(MaxValueValidator(LARGEST_INT))
        if not _has(field.validators, MinValueValidator):
            field.validators.append(MinValueValidator(SMALLEST_INT))
    return field


class BoundedFormMixin:
    """Every field of the form within the site's bounds (text length, plausible dates,
    integers that fit their column, no control characters)."""

    def full_clean(self):
        if not getattr(self, "_bounded", False):
            for field in self.fields.values():
                bound_form_field(field)
            self._bounded = True
        super().full_clean()


class Form(BoundedFormMixin, forms.Form):
    pass


class ModelForm(BoundedFormMixin, forms.ModelForm):
    pass


# API serializers ------------------------------------------------------------------------------


def bound_serializer_field(field):
    """Adds the site's bounds to one serializer field (the schema shows them)."""
    if getattr(field, "read_only", False):
        return field
    if isinstance(field, serializers.CharField) and not isinstance(
            field, (serializers.ChoiceField,)):
        if field.max_length is None:
            field.max_length = LONGEST_TEXT
            field.validators.append(MaxLengthValidator(LONGEST_TEXT))
        field.validators.append(NoControlCharacters())
    elif isinstance(field, (serializers.DateField, serializers.DateTimeField)):
        field.validators.append(PlausibleDate())
    elif isinstance(field, serializers.IntegerField):
        if field.max_value is None:
            field.max_value = LARGEST_INT
            field.validators.append(MaxValueValidator(LARGEST_INT))
        if field.min_value is None:
            field.min_value = SMALLEST_INT
            field.validators.append(MinValueValidator(SMALLEST_INT))
    elif isinstance(field, serializers.ListSerializer | serializers.ListField):
        bound_serializer_field(field.child)
    return field


class BoundedFieldsMixin:
    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            bound_serializer_field(field)
        return fields


class Serializer(BoundedFieldsMixin, serializers.Serializer):
    """The base of every API serializer: fields within the site's bounds."""


class ModelSerializer(BoundedFieldsMixin, serializers.ModelSerializer):
    """The base of every API model serializer: fields within the site's bounds."""


# Filters --------------------------------------------------------------------------------------


class FilterSet(django_filters.FilterSet):
    """Filters of the API and pages: each value within the site's bounds; an invalid one
    (an unknown choice, a date out of range) is a 400, never silently ignored.
    `page_fields` names those a list page offers in its filter bar (default: none; the
    page's own controls)."""

    page_fields = ()

    def page_form_fields(self):
        """The bound fields of the page's filter bar, styled as the site's forms."""
        from .forms import style_widgets

        style_widgets(self.form, compact=True)
        return [self.form[name] for name in self.page_fields]

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            for field in form.fields.values():
                bound_form_field(field)
        return self._form


def _request_stores(request):
    from .models import Store
    from .scoping import stores_of

    return stores_of(request.user) if request else Store.objects.none()


class StoreFilter(django_filters.ModelChoiceFilter):
    """A store among the user's stores: another store's id is refused, not quietly empty."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", _request_stores)
        kwargs.setdefault("label", _("门店"))
        super().__init__(*args, **kwargs)


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet


def filter_page(filterset_class, request, queryset, **kwargs):
    """A list page's filters through the same FilterSet as its API: the valid ones
    applied to `queryset` (`.qs`), the invalid ones named in `.errors` for the page to
    show (templates/crm_site/partials/filter_errors.html), `.data` the values asked."""
    filterset = filterset_class(request.GET, queryset=queryset, request=request, **kwargs)
    filterset.is_valid()
    return filterset


def filter_values(filterset):
    """{name: the cleaned value, or "" when not given or invalid} of a bound FilterSet."""
    cleaned = getattr(filterset.form, "cleaned_data", {})
    return {name: "" if cleaned.get(name) in (None, "") else cleaned[name]
            for name in filterset.filters}


# Every request ---------------------------------------------------------------------------------


def _json_strings(node, name=""):
    if isinstance(node, str):
        yield name, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _json_strings(key, name or str(key))
            yield from _json_strings(value, name or str(key))
    elif isinstance(node, list):
        for value in node:
            yield from _json_strings(value, name)


def _refused_input(request):
    """(field, message) of the first value of the request refused whatever the page:
    a control character anywhere, or a query parameter longer than any search."""
    for name, values in request.GET.lists():
        for value in [name, *values]:
            if refused_character(value) is not None:
                return name, CONTROL_MESSAGE
            if len(value) > LONGEST_QUERY:
                return name, _("最多 %(count)s 个字符。") % {"count": LONGEST_QUERY}
    if request.method in ("POST", "PUT", "PATCH"):
        content_type = request.content_type or ""
        pairs = ()
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            pairs = ((name, value) for name, values in request.POST.lists()
                     for value in [name, *values])
        elif content_type.endswith("json"):
            try:
                pairs = _json_strings(json.loads(request.body or b"null"))
            except ValueError:
                return None
        for name, value in pairs:
            if refused_character(value) is not None:
                return name or "non_field_errors", CONTROL_MESSAGE
            if len(value) > LONGEST_VALUE:
                return name or "non_field_errors", _("最多 %(count)s 个字符。") % {"count": LONGEST_VALUE}
    return None


def refused_response(request, errors):
    """The 400 for refused input: JSON naming the fields in the API, a page elsewhere."""
    if request.path.startswith("/api/"):
        return invalid_response(errors)
    lines = [_("%(field)s：%(message)s") % {"field": _label(name), "message": message}
             for name, messages in errors.items() for message in messages]
    return render(request, "crm_site/refused.html", {"lines": lines}, status=400)


class RefuseBadInputMiddleware:
    """Refuses control characters and over-long query parameters before any view sees
    them, and answers a ValidationError a page did not catch (a malformed or implausible
    query parameter) with a 400 naming the field."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = _refused_input(request)
        if refused is not None:
            name, message = refused
            return refused_response(request, {name: [message]})
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ValidationError):
            if hasattr(exception, "error_dict"):
                errors = exception.message_dict
            else:
                errors = {"non_field_errors": exception.messages}
            return refused_response(request, errors)
        return None
