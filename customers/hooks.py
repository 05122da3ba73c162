"""What the floors above do when a record of this floor is written, called explicitly by
the service that writes it (no signals).

customers never imports followups or the floors above it; instead each of them registers
a hook in its AppConfig.ready():

    from customers import hooks
    hooks.visit_recorded.register(my_hook)
    hooks.customer_erased.register(my_other_hook)
    (and consent_changed, ownership_ended, customer_merged: crm_site.hooks.Hook)

A "visit recorded" hook is `hook(visit)`, called inside the service's transaction after
the visit and the vehicle's dates are saved; the hook's work belongs to the same
transaction (a failing hook undoes the visit). Every service that creates service visits (the
form, the API, the DMS import) goes through customers.services.service_visit_record.

A "visits imported" hook is `hook(*, store, earliest)`, called once by the DMS import
(customers.importers) inside its transaction after a file's visits and the vehicles'
dates are saved in bulk: `earliest` is the first day in of the visits saved. A hook does
set-based what its "visit recorded" hook does for one visit.

A "customer erased" hook is `hook(customer, scrubbed)`, called by
customers.services.customer_erase inside its transaction, after the checks and before
the record itself is blanked: `customer` still carries the name and mobile, so a hook
can also find them inside text it keeps (a notification's title). The hook scrubs the
free text and identifiers of its own floor's rows about the customer, and their history
rows, with set-based UPDATEs, keeps every row, status, date, score and foreign key (so
reports count the same), and adds {what: rows scrubbed} to the `scrubbed` dict that
CustomerErasure records. Free text becomes ERASED_TEXT (`erased_text()` builds the
expressions); empty text stays empty. Records merged into the customer earlier are
erased with it, each through the same hooks.

A "consent changed" hook is `hook(customer, changes)`, called inside the transaction of
every service that records a change of consent (customer_create, customer_update and so
customer_set_consent, a correction or a DMS import), after the record and its
ConsentChange rows are saved; `changes` are those rows (channel, allowed). A hook
cancels its own floor's planned work on a channel the customer no longer accepts,
set-based. (An erasure refuses every channel itself: the "customer erased" hooks cover
it.)

A "vehicle ownership ended" hook is `hook(vehicle, *, retired)`, called inside the
transaction of vehicle_transfer (sold on to another customer of the store, retired
False; the vehicle already names its new owner) and vehicle_retire (sold elsewhere or
scrapped, retired True; the vehicle is inactive). A hook cancels the work planned for
the car's owner it left.

A "policy recorded" hook is `hook(policy)`, called inside the transaction of
insurance_policy_record (a renewal recorded by a caller, a policy from the DMS import)
after the policy and the vehicle's insurance due date are saved; a hook closes its own
floor's work about the policy the new one renews, set-based.

A "customer merged" hook is `hook(kept, merged, moved)`, called by customer_merge inside
its transaction after the checks and before the rows pointing at the duplicate move to
the kept record. A hook may move its own floor's rows itself (leaving behind, say, rows
that would duplicate the kept record's) and records what it moved as
{"app_label.model.field": [ids]} in `moved`: the merge moves the other relations and
skips every key a hook put there, and its undo puts back everything in `moved`.
"""

from django.db.models import Case, F, Func, JSONField, TextField, Value, When
from django.db.models.functions import Cast, Left, Replace

from crm_site.hooks import Hook

# What erased free text and names become: short, and the same everywhere.
ERASED_TEXT = "-"

visit_recorded = Hook("visit recorded")  # hook(visit)
visits_imported = Hook("visits imported")  # hook(*, store, earliest)
customer_erased = Hook("customer erased")  # hook(customer, scrubbed)
consent_changed = Hook("consent changed")  # hook(customer, changes)
ownership_ended = Hook("vehicle ownership ended")  # hook(vehicle, *, retired)
customer_merged = Hook("customer merged")  # hook(kept, merged, moved)
policy_recorded = Hook("policy recorded")  # hook(policy)


def erased_text(*fields):
    """{field: expression} for an UPDATE turning each field's free text into ERASED_TEXT
    while an empty field stays empty (a count of rows "with a note" stays the same)."""
    return {field: Case(When(**{field: ""}, then=Value("")), default=Value(ERASED_TEXT))
            for field in fields}


class _JSONSetText(Func):
    """`field` (JSON) with its `key` set to a text `value` (jsonb_set)."""

    output_field = JSONField()

    def __init__(self, field, key, value):
        super().__init__(F(field), Value(key), Value(value))

    def _compiled(self, compiler):
        parts = [compiler.compile(e) for e in self.get_source_expressions()]
        return [sql for sql, _params in parts], [p for _sql, params in parts for p in params]

    def as_sql(self, compiler, connection, **extra):
        (field, key, value), params = self._compiled(compiler)
        return f"jsonb_set({field}, ARRAY[{key}]::text[], to_jsonb({value}::text))", params


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
