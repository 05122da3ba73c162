"""A figure and the one percent function every report, card, scorecard and API uses.

A figure is owned by the app that owns what it measures: a selector there returns a
`Figure`, the rows it counts (its denominator) and the condition that picks the numerator
among them. The card, the report, the scorecard, the API and the drill-down read that one
object, so they cannot disagree.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from django.db.models import Count, F, Q, QuerySet

from .rules import percent

__all__ = ["Figure", "defined_as", "percent"]


def defined_as(definition):
    """Marks a figure selector with its definition, written once: a sentence marked with
    gettext_noop, kept as the selector's `definition` (translated where shown, e.g. as the
    dashboard card's tooltip) and appended to its docstring."""
    def mark(function):
        function.definition = definition
        function.__doc__ = f"{(function.__doc__ or '').rstrip()}\n\n{definition}"
        return function
    return mark


@dataclass(frozen=True, eq=False)
class Figure:
    """A share: `rows` are counted in the denominator, those matching `hits` in the
    numerator. `store` and `month` name the field (or expression) rows are grouped by
    for the per-store, per-month table."""

    rows: QuerySet
    hits: Q
    store: str = "store_id"
    month: object = None

    @cached_property
    def _counts(self):
        return self.rows.aggregate(denominator=Count("pk"), numerator=Count("pk", filter=self.hits))

    @property
    def numerator(self) -> int:
        return self._counts["numerator"]

    @property
    def denominator(self) -> int:
        return self._counts["denominator"]

    @property
    def percent(self) -> Decimal | None:
        return percent(self.numerator, self.denominator)

    @property
    def hit_rows(self) -> QuerySet:
        """The rows behind the numerator."""
        return self.rows.filter(self.hits)

    def by(self, **groups) -> dict:
        """{key: (numerator, denominator)} grouped by the named fields or expressions
        (key: their value, or a tuple of values in the order given), in one query."""
        names = list(groups)
        counted = (self.rows.order_by().annotate(**{f"_g_{n}": _expression(g) for n, g in groups.items()})
                   .values(*[f"_g_{n}" for n in names])
                   .annotate(_d=Count("pk"), _n=Count("pk", filter=self.hits)))
        result = {}
        for row in counted:
            key = tuple(row[f"_g_{n}"] for n in names)
            result[key if len(key) > 1 else key[0]] = (row["_n"], row["_d"])
        return result

    def by_store_month(self) -> dict:
        """{(store_id, first day of month): (numerator, denominator)} in one GROUP BY query."""
        result = {}
        for (store_id, month), counts in self.by(store=self.store, month=self.month).items():
            month = month.date() if isinstance(month, datetime) else month
            result[(store_id, month.replace(day=1))] = counts
        return result


def _expression(value):
    return F(value) if isinstance(value, str) else value
