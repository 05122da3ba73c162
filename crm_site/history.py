"""The "what changed" list of a settings page, read from django-simple-history: who
changed which row, when, each field from what to what, and the change note they gave.
One query for the history rows however many there are (the user joined in)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

NOTE_MAX_LENGTH = 100  # simple-history's history_change_reason column


def change_note(note):
    """The change note a settings write must carry: stripped, present, not too long."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": [_("请填写修改说明。")]})
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": [_("修改说明最多%(n)s个字。") % {"n": NOTE_MAX_LENGTH}]})
    return note


def save_with_note(instance, *, actor, note):
    """Validate and save a settings row, its history naming `actor` and the note."""
    instance._history_user = actor
    instance._change_reason = note
    instance.full_clean()
    instance.save()
    return instance


@dataclass
class Change:
    when: object
    who: str
    row: str
    kind: str
    note: str
    fields: list = field(default_factory=list)  # [(label, old, new)]


def _shown(record, name):
    model_field = record.instance_type._meta.get_field(name)
    value = getattr(record, model_field.attname)
    if model_field.is_relation and value is not None:
        return str(getattr(record, name))  # select_related by the caller
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return "" if value is None else str(value)


def changes(history, *, fields, row_label=str, limit=50):
    """The latest `limit` changes of the rows behind `history` (a historical queryset,
    already limited to the rows the user may see, with the foreign keys of `fields`
    select_related), newest first. `fields` are the field names compared;
    `row_label(record)` names the row a change was made to."""
    records = list(history.select_related("history_user").order_by("-history_date", "-history_id")
                   [:limit + 200])
    previous = {}
    for record in reversed(records):  # oldest first: each record meets its predecessor
        record.previous = previous.get(record.id)
        previous[record.id] = record
    out = []
    for record in records[:limit]:
        before = record.previous
        kind = {"+": _("新建"), "~": _("修改"), "-": _("删除")}[record.history_type]
        changed = []
        for name in fields:
            new = _shown(record, name)
            old = _shown(before, name) if before is not None else ""
            if before is None or old != new:
                changed.append((str(record.instance_type._meta.get_field(name).verbose_name),
                                old, new))
        user = record.history_user
        out.append(Change(when=record.history_date, who=str(user) if user else _("系统"),
                          row=row_label(record), kind=kind, note=record.history_change_reason or "",
                          fields=changed))
    return out
