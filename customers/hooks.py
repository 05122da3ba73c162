"""What the floors above do when a record of this floor is written, called explicitly by
the service that writes it (no signals).

customers never imports followups or the floors above it; instead each of them registers
a hook in its AppConfig.ready():

    from customers import hooks
    hooks.register_visit_recorded(my_hook)
    hooks.register_customer_erased(my_other_hook)

A "visit recorded" hook is `hook(visit)`, called inside the service's transaction after
the visit and the vehicle's dates are saved; a hook that starts work over many rows
defers it with transaction.on_commit. Every service that creates service visits (the
form, the API, the DMS import) goes through customers.services.service_visit_record.

A "customer erased" hook is `hook(customer, scrubbed)`, called by
customers.services.customer_erase inside its transaction, after the checks and before
the record itself is blanked: `customer` still carries the name and mobile, so a hook
can also find them inside text it keeps (a notification's title). The hook scrubs the
free text and identifiers of its own floor's rows about the customer, and their history
rows, with set-based UPDATEs, keeps every row, status, date, score and foreign key (so
reports count the same), and adds {what: rows scrubbed} to the `scrubbed` dict that
CustomerErasure records. Free text becomes ERASED_TEXT (`erased_text()` builds the
expressions); empty text stays empty.
"""

from django.db.models import Case, F, Func, JSONField, TextField, Value, When
from django.db.models.functions import Cast, Left, Replace

# What erased free text and names become: short, and the same everywhere.
ERASED_TEXT = "-"

_visit_recorded = []
_customer_erased = []


def register_visit_recorded(hook):
    """Add a hook; registering the same function twice has no effect."""
    if hook not in _visit_recorded:
        _visit_recorded.append(hook)
    return hook


def unregister_visit_recorded(hook):
    if hook in _visit_recorded:
        _visit_recorded.remove(hook)


def visit_recorded_hooks():
    return list(_visit_recorded)


def visit_recorded(visit):
    """Run every registered hook for a visit just recorded."""
    for hook in list(_visit_recorded):
        hook(visit)


def register_customer_erased(hook):
    """Add a hook; registering the same function twice has no effect."""
    if hook not in _customer_erased:
        _customer_erased.append(hook)
    return hook


def unregister_customer_erased(hook):
    if hook in _customer_erased:
        _customer_erased.remove(hook)


def customer_erased_hooks():
    return list(_customer_erased)


def customer_erased(customer, scrubbed):
    """Run every registered hook for a customer whose personal data is being erased."""
    for hook in list(_customer_erased):
        hook(customer, scrubbed)


def erased_text(*fields):
    """{field: expression} for an UPDATE turning each field's free text into ERASED_TEXT
    while an empty field stays empty (a count of rows "with a note" stays the same)."""
    return {field: Case(When(**{field: ""}, then=Value("")), default=Value(ERASED_TEXT))
            for field in fields}


class _JSONSetText(Func):
    """`field` (JSON) with its `key` set to a text `value`, on PostgreSQL and SQLite."""

    output_field = JSONField()

    def __init__(self, field, key, value):
        super().__init__(F(field), Value(key), Value(value))

    def _compiled(self, compiler):
        parts = [compiler.compile(e) for e in self.get_source_expressions()]
        return [sql for sql, _params in parts], [p for _sql, params in parts for p in params]

    def as_postgresql(self, compiler, connection, **extra):
        (field, key, value), params = self._compiled(compiler)
        return f"jsonb_set({field}, ARRAY[{key}]::text[], to_jsonb({value}::text))", params

    def as_sqlite(self, compiler, connection, **extra):
        (field, key, value), params = self._compiled(compiler)
        return f"json_set({field}, '$.' || {key}, {value})", params


def erased_json_text(field, key):
    """{field: expression} for an UPDATE setting the text under `key` of a JSON column to
    ERASED_TEXT (filter the rows to those whose `key` holds text)."""
    return {field: _JSONSetText(field, key, ERASED_TEXT)}


def replaced(field, *pairs, max_length=200):
    """An expression for `field` with every (old, new) of `pairs` replaced inside it
    (empty olds skipped), cut to the column's `max_length`."""
    expression = F(field)
    for old, new in pairs:
        if old:
            expression = Replace(expression, Value(old), Value(new))
    return Left(expression, max_length) if max_length else expression


def admin_log_scrub(rows, object_repr):
    """The admin site's change-log entries of `rows` (a queryset) get `object_repr` (a
    value or an expression such as `replaced("object_repr", ...)`). Returns the count."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    keys = rows.annotate(log_key=Cast("pk", TextField())).values("log_key")
    return LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(rows.model),
                                   object_id__in=keys).update(object_repr=object_repr)
