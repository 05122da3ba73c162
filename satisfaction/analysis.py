"""Who our customers are (DOMAIN.md section 9): the customer base of one store in a month,
quarter or year, for planning marketing and the main business.

Sales side: the customers who took delivery of a car from the store in the period, by
source channel, model, region, age band (at the end of the period) and interests.
After-sales: the customers the store serviced in the period, bought here or elsewhere
(a sale of this store on record or not), by model, region, mileage band, visits in the
period and loyalty tier (visits to the store up to the end of the period); and every
customer of the store with a vehicle, active (a visit within the lapse days of the
follow-up settings), lapsed (none, though the car is older than that) or a new car not
yet serviced, with the reasons recorded on their follow-up tasks.

Every breakdown is one GROUP BY query (bands as a CASE in SQL) however many customers;
only customers of the store itself are counted, so no bar, list or export shows another
store's customer. `customers_behind` gives the customers behind one bar, by the same
filters as the counts.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext, gettext_lazy

from customers import rules as customer_rules
from customers.models import Customer, Sale, ServiceVisit, Vehicle
from followups.models import FollowupSettings, Task

from . import rules
from .models import CustomerBand

SALES, SERVICE = "sales", "service"
UNKNOWN = gettext_lazy("未填写")
FREQUENCY_CAP = 6  # visits in the period: 1, 2, ... 5 and "6 or more"

# code -> (side, title, what a bar counts)
BREAKDOWNS = {
    "sales_source": (SALES, gettext_lazy("来源渠道")),
    "sales_model": (SALES, gettext_lazy("购买车型")),
    "sales_region": (SALES, gettext_lazy("区域")),
    "sales_age": (SALES, gettext_lazy("年龄段")),
    "sales_interest": (SALES, gettext_lazy("兴趣爱好")),
    "service_origin": (SERVICE, gettext_lazy("本店/他店客户")),
    "service_model": (SERVICE, gettext_lazy("进厂车型")),
    "service_region": (SERVICE, gettext_lazy("区域")),
    "service_mileage": (SERVICE, gettext_lazy("里程段")),
    "service_frequency": (SERVICE, gettext_lazy("期内进厂次数")),
    "service_loyalty": (SERVICE, gettext_lazy("忠诚度等级")),
    "service_status": (SERVICE, gettext_lazy("活跃/流失客户")),
    "lapsed_reason": (SERVICE, gettext_lazy("流失原因")),
}
ORIGIN_LABELS = {"own": gettext_lazy("本店购车"), "other": gettext_lazy("他店购车")}
STATUS_LABELS = {"active": gettext_lazy("活跃客户"), "lapsed": gettext_lazy("流失客户"),
                 "new": gettext_lazy("新车未进厂（未满流失天数）")}


@dataclass
class Breakdown:
    code: str
    side: str
    title: str
    rows: list  # [{"key": str, "label": str, "count": int, "share": Decimal | None}]

    @property
    def total(self):
        return sum(row["count"] for row in self.rows)


@dataclass
class CustomerAnalysis:
    store: object
    span: rules.Span
    day: date  # ages and lapses are counted on this day
    lapsed_after_days: int
    breakdowns: list = field(default_factory=list)
    computed_at: object = None  # set when read from the stored summary

    def get(self, code):
        return next((b for b in self.breakdowns if b.code == code), None)

    @property
    def sales_customers(self):
        return self.get("sales_source").total

    @property
    def service_customers(self):
        return self.get("service_origin").total


# The customers each side counts --------------------------------------------------------------

def _sales(store, span):
    return Sale.objects.filter(store=store, customer__store=store, customer__is_active=True,
                               delivered_on__gte=span.start, delivered_on__lt=span.end).order_by()


def _visits(store, span):
    return ServiceVisit.objects.filter(store=store, customer__store=store, customer__is_active=True,
                                       date_in__gte=span.start, date_in__lt=span.end).order_by()


def _visit_counts(store, span):
    """Visits per customer serviced in the period (customer_id, n)."""
    return _visits(store, span).values("customer_id").annotate(n=Count("id")).order_by()


def _lifetime_counts(store, span):
    """Visits to the store up to the end of the period, per customer serviced in it."""
    return (ServiceVisit.objects.filter(store=store, date_in__lt=span.end,
                                        customer_id__in=_visits(store, span).values("customer_id"))
            .order_by().values("customer_id").annotate(n=Count("id")).order_by())


def _own_sale(store):
    return Exists(Sale.objects.filter(customer=OuterRef("pk"), store=store))


def _status_sql(store, day, lapsed_after_days, only=None):
    """(customer_id, status) of every active customer of the store with an active vehicle
    there: active (a visit within the lapse days up to `day`), lapsed (the last visit, or
    without one the first delivery, on the cutoff or before) or new (a car delivered
    within the lapse days, not yet serviced). Two GROUP BY derived tables joined to the
    customers; returns (sql, params). `only`: a subquery of customer ids to limit it to."""
    cutoff = customer_rules.lapse_cutoff(day, lapsed_after_days)
    vehicles = Vehicle.objects.filter(store=store, is_active=True)
    visits = ServiceVisit.objects.filter(store=store, date_in__lte=day)
    if only is not None:
        vehicles, visits = vehicles.filter(customer_id__in=only), visits.filter(customer_id__in=only)
    delivered = (vehicles.order_by().values("customer_id")
                 .annotate(first_delivery=Min("delivered_on")).order_by())
    visited = visits.order_by().values("customer_id").annotate(last_visit=Max("date_in")).order_by()
    dv_sql, dv_params = delivered.query.sql_with_params()
    lv_sql, lv_params = visited.query.sql_with_params()
    sql = f"""SELECT c.id AS customer_id,
                     CASE WHEN lv.last_visit > %s THEN 'active'
                          WHEN lv.last_visit IS NOT NULL OR dv.first_delivery <= %s THEN 'lapsed'
                          ELSE 'new' END AS status
              FROM {Customer._meta.db_table} c
              JOIN ({dv_sql}) dv ON dv.customer_id = c.id
              LEFT JOIN ({lv_sql}) lv ON lv.customer_id = c.id
              WHERE c.store_id = %s AND c.is_active"""  # noqa: S608
    return sql, [cutoff, cutoff, *dv_params, *lv_params, store.pk]


def _with_status(store, day, lapsed_after_days, status, only=None):
    """Ids of the store's customers of one status, as a subquery."""
    sql, params = _status_sql(store, day, lapsed_after_days, only)
    # compiled from querysets; the values are parameters
    return RawSQL(f"SELECT s.customer_id FROM ({sql}) s WHERE s.status = %s",  # noqa: S608, S611
                  [*params, status])


# Bands ------------------------------------------------------------------------------------------

def bands():
    """Active bands of each kind, in order: one query."""
    result = {kind: [] for kind in CustomerBand.Kind.values}
    for band in CustomerBand.objects.filter(is_active=True).order_by("kind", "order", "lower", "id"):
        result[band.kind].append(band)
    return result


def _age_condition(band, day, field_name):
    earliest, latest = rules.birth_range(band.lower, band.upper, day)
    condition = Q(**{f"{field_name}__lte": latest})
    if earliest is not None:
        condition &= Q(**{f"{field_name}__gt": earliest})
    return condition


def _range_condition(band, field_name):
    condition = Q(**{f"{field_name}__gte": band.lower})
    if band.upper is not None:
        condition &= Q(**{f"{field_name}__lte": band.upper})
    return condition


def _case(band_list, condition):
    whens = [When(condition(band), then=Value(band.pk)) for band in band_list]
    if not whens:
        return Value(None, output_field=IntegerField())
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _case_sql(column, band_list):
    """CASE over a plain column of a derived table, with its parameters."""
    if not band_list:
        return "NULL", []
    parts, params = [], []
    for band in band_list:
        if band.upper is None:
            parts.append(f"WHEN {column} >= %s THEN %s")
            params += [band.lower, band.pk]
        else:
            parts.append(f"WHEN {column} >= %s AND {column} <= %s THEN %s")
            params += [band.lower, band.upper, band.pk]
    return "CASE " + " ".join(parts) + " END", params


def _grouped_sql(inner, expression, params):
    """SELECT expression, COUNT(*) over the derived table of `inner` (one query)."""
    sql, inner_params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression} AS k, COUNT(*) FROM ({sql}) AS t GROUP BY 1",  # noqa: S608
                       [*params, *inner_params])
        return dict(cursor.fetchall())


def _band_rows(counts, band_list):
    rows = [{"key": str(band.pk), "label": band.label, "count": counts.get(band.pk, 0)}
            for band in band_list]
    if counts.get(None):
        rows.append({"key": "", "label": str(UNKNOWN), "count": counts[None]})
    return rows


def _value_rows(queryset, field_name, customer_field):
    rows = (queryset.values(field_name).annotate(n=Count(customer_field, distinct=True))
            .order_by("-n", field_name))
    return [{"key": row[field_name] or "", "label": row[field_name] or str(UNKNOWN),
             "count": row["n"]} for row in rows]


# The breakdowns ---------------------------------------------------------------------------------

def customer_analysis(store, span, *, today):
    """Every breakdown of one store and period, in a fixed number of queries."""
    by_kind = bands()
    lapsed_after_days = FollowupSettings.current().lapsed_after_days
    day = rules.analysis_day(span, today)
    sales, visits = _sales(store, span), _visits(store, span)
    result = CustomerAnalysis(store=store, span=span, day=day, lapsed_after_days=lapsed_after_days)

    def add(code, rows):
        result.breakdowns.append(_breakdown(code, rows))

    add("sales_source", _value_rows(sales, "customer__source", "customer_id"))
    add("sales_model", _value_rows(sales, "vehicle__model_name", "customer_id"))
    add("sales_region", _value_rows(sales, "customer__region", "customer_id"))
    ages = by_kind[CustomerBand.Kind.AGE]
    age_band = _case(ages, lambda b: _age_condition(b, day, "customer__birth_date"))
    age_counts = dict(sales.annotate(band=age_band).values("band")
                      .annotate(n=Count("customer_id", distinct=True)).values_list("band", "n").order_by())
    add("sales_age", _band_rows(age_counts, ages))
    add("sales_interest", _interest_rows(sales))

    origin = dict(Customer.objects.filter(pk__in=visits.values("customer_id"))
                  .annotate(own=_own_sale(store)).values("own").annotate(n=Count("pk"))
                  .values_list("own", "n").order_by())
    add("service_origin", [{"key": key, "label": str(ORIGIN_LABELS[key]),
                            "count": origin.get(key == "own", 0)} for key in ("own", "other")])
    add("service_model", _value_rows(visits, "vehicle__model_name", "customer_id"))
    add("service_region", _value_rows(visits, "customer__region", "customer_id"))
    mileages = by_kind[CustomerBand.Kind.MILEAGE]
    mileage_counts = dict(visits.annotate(band=_case(mileages, lambda b: _range_condition(b, "mileage")))
                          .values("band").annotate(n=Count("customer_id", distinct=True))
                          .values_list("band", "n").order_by())
    add("service_mileage", _band_rows(mileage_counts, mileages))
    add("service_frequency", _frequency_rows(_grouped_sql(_visit_counts(store, span), "t.n", [])))
    tiers = by_kind[CustomerBand.Kind.LOYALTY]
    case, params = _case_sql("t.n", tiers)
    add("service_loyalty", _band_rows(_grouped_sql(_lifetime_counts(store, span), case, params), tiers))
    sql, params = _status_sql(store, day, lapsed_after_days)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.status, COUNT(*) FROM ({sql}) t GROUP BY t.status", params)  # noqa: S608
        status = dict(cursor.fetchall())
    add("service_status", [{"key": key, "count": status.get(key, 0)} for key in STATUS_LABELS])
    with_reason = Task.objects.filter(store=store, reason__isnull=False).order_by()
    lapsed = _with_status(store, day, lapsed_after_days, "lapsed", only=with_reason.values("customer_id"))
    reasons = (with_reason.filter(customer_id__in=lapsed)
               .values("reason_id", "reason__label").annotate(n=Count("customer_id", distinct=True))
               .order_by("-n", "reason__label"))
    add("lapsed_reason", [{"key": str(row["reason_id"]), "label": row["reason__label"], "count": row["n"]}
                          for row in reasons])
    return result


def _label(code, key, label):
    """What a bar is called: a fixed key in the reader's language, else the value or band
    or reason as recorded."""
    if key == "":
        return str(UNKNOWN)
    if code == "service_origin":
        return str(ORIGIN_LABELS.get(key, key))
    if code == "service_status":
        return str(STATUS_LABELS.get(key, key))
    if code == "service_frequency":
        return frequency_label(int(key))
    return label


def _breakdown(code, rows):
    side, title = BREAKDOWNS[code]
    rows = [{"key": row["key"], "label": _label(code, row["key"], row.get("label")),
             "count": row["count"]} for row in rows]
    return Breakdown(code, side, str(title), rules.shares(rows))


def as_data(result):
    """The analysis as plain JSON for the stored summary (labels of fixed keys are put in
    the reader's language when read back)."""
    return {"lapsed_after_days": result.lapsed_after_days,
            "breakdowns": {b.code: [[row["key"], row["label"], row["count"]] for row in b.rows]
                           for b in result.breakdowns}}


def from_data(store, span, day, data, computed_at):
    result = CustomerAnalysis(store=store, span=span, day=day,
                              lapsed_after_days=data["lapsed_after_days"], computed_at=computed_at)
    stored = data["breakdowns"]
    for code in BREAKDOWNS:
        rows = [{"key": key, "label": label, "count": count} for key, label, count in stored.get(code, [])]
        result.breakdowns.append(_breakdown(code, rows))
    return result


def _interest_rows(sales):
    """Customers per interest: one GROUP BY over the hobbies texts; each distinct text is
    split into its interests (a customer names an interest once)."""
    counts = {}
    texts = (sales.values("customer__hobbies").annotate(n=Count("customer_id", distinct=True))
             .values_list("customer__hobbies", "n").order_by())
    for text, n in texts:
        for interest in rules.interests(text) or [""]:
            counts[interest] = counts.get(interest, 0) + n
    rows = [{"key": key, "label": key or str(UNKNOWN), "count": n} for key, n in counts.items()]
    rows.sort(key=lambda row: (row["key"] == "", -row["count"], row["key"]))
    return rows


def _frequency_rows(counts):
    rows = dict.fromkeys(range(1, FREQUENCY_CAP + 1), 0)
    for visits, customers in counts.items():
        rows[min(visits, FREQUENCY_CAP)] += customers
    return [{"key": str(n), "label": frequency_label(n), "count": customers}
            for n, customers in rows.items()]


def frequency_label(n):
    return (gettext("%(n)s次及以上") if n >= FREQUENCY_CAP else gettext("%(n)s次")) % {"n": n}


# The customers behind a bar ------------------------------------------------------------------------

def _band(key, kind):
    try:
        return CustomerBand.objects.get(pk=int(key), kind=kind)
    except (ValueError, CustomerBand.DoesNotExist):
        return None


def customers_behind(store, span, code, key, *, today):
    """The store's customers counted in one bar of a breakdown, or None for an unknown
    breakdown or key. The same filters as `customer_analysis`."""
    day = rules.analysis_day(span, today)
    sales, visits = _sales(store, span), _visits(store, span)
    base = Customer.objects.filter(store=store, is_active=True)
    key = key or ""
    if code in ("sales_source", "sales_region"):
        column = "source" if code == "sales_source" else "region"
        return base.filter(pk__in=sales.filter(**{f"customer__{column}": key}).values("customer_id"))
    if code in ("sales_model", "service_model"):
        rows = sales if code == "sales_model" else visits
        return base.filter(pk__in=rows.filter(vehicle__model_name=key).values("customer_id"))
    if code == "service_region":
        return base.filter(pk__in=visits.filter(customer__region=key).values("customer_id"))
    if code == "sales_interest":
        ids = sales.values("customer_id")
        if not key:
            return base.filter(pk__in=ids).filter(hobbies__regex=r"^[,，、;；/|\s]*$")
        pattern = r"(^|[,，、;；/|\s])" + _regex_escape(key) + r"($|[,，、;；/|\s])"
        return base.filter(pk__in=ids, hobbies__regex=pattern)
    if code == "sales_age":
        ids = sales.values("customer_id")
        if not key:
            ages = bands()[CustomerBand.Kind.AGE]
            known = Q(pk__in=[])
            for band in ages:
                known |= _age_condition(band, day, "birth_date")
            return base.filter(pk__in=ids).exclude(known & Q(birth_date__isnull=False))
        band = _band(key, CustomerBand.Kind.AGE)
        return base.filter(pk__in=ids).filter(_age_condition(band, day, "birth_date")) if band else None
    if code == "service_origin" and key in ORIGIN_LABELS:
        customers = base.filter(pk__in=visits.values("customer_id")).annotate(own=_own_sale(store))
        return customers.filter(own=key == "own")
    if code == "service_mileage":
        if not key:
            mileages = bands()[CustomerBand.Kind.MILEAGE]
            known = Q(pk__in=[])
            for band in mileages:
                known |= _range_condition(band, "mileage")
            return base.filter(pk__in=visits.exclude(known & Q(mileage__isnull=False)).values("customer_id"))
        band = _band(key, CustomerBand.Kind.MILEAGE)
        return base.filter(pk__in=visits.filter(_range_condition(band, "mileage"))
                           .values("customer_id")) if band else None
    if code == "service_frequency":
        try:
            n = int(key)
        except ValueError:
            return None
        counts = _visit_counts(store, span)
        counts = counts.filter(n__gte=n) if n >= FREQUENCY_CAP else counts.filter(n=n)
        return base.filter(pk__in=counts.values("customer_id"))
    if code == "service_loyalty":
        band = _band(key, CustomerBand.Kind.LOYALTY)
        if band is None:
            return None
        return base.filter(pk__in=_lifetime_counts(store, span).filter(_range_condition(band, "n"))
                           .values("customer_id"))
    lapsed_after_days = FollowupSettings.current().lapsed_after_days
    if code == "service_status" and key in STATUS_LABELS:
        return base.filter(pk__in=_with_status(store, day, lapsed_after_days, key))
    if code == "lapsed_reason":
        try:
            reason = int(key)
        except ValueError:
            return None
        with_reason = Task.objects.filter(store=store, reason_id=reason).order_by().values("customer_id")
        return base.filter(pk__in=_with_status(store, day, lapsed_after_days, "lapsed", only=with_reason))
    return None


def _regex_escape(text):
    return "".join("\\" + c if c in r".^$*+?{}[]\|()" else c for c in text)


def customer_rows(customers):
    """The list page's rows: store, owner and active vehicles in two more queries."""
    return (customers.select_related("store", "owner").order_by("-id").prefetch_related(
        Prefetch("vehicles", queryset=Vehicle.objects.filter(is_active=True).order_by("id"),
                 to_attr="active_vehicles")))
