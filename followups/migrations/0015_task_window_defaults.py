"""Every call and SMS step gets its window (the last day from N its task may be worked):
the day before the programme's next step, the last step until N+7. Open calls already
in the ledger get their expiry date from their step the same way."""

from django.db import migrations

LAST_STEP_WINDOW_DAYS = 7


def forwards(apps, schema_editor):
    Step = apps.get_model("followups", "Step")
    Task = apps.get_model("followups", "Task")
    offsets = {}
    for step in Step.objects.filter(is_active=True):
        offsets.setdefault(step.programme_id, []).append(step.offset_days)
    ends = {}
    for step in Step.objects.exclude(channel="list"):
        later = [o for o in offsets.get(step.programme_id, []) if o > step.offset_days]
        end = max(min(later) - 1 if later else LAST_STEP_WINDOW_DAYS, step.offset_days)
        if step.window_end_days is None:
            step.window_end_days = end
            step.save(update_fields=["window_end_days"])
        ends[step.pk] = step.window_end_days
    # Open calls: one UPDATE for all of them (set-based), each from its step's window.
    if ends:
        table = schema_editor.quote_name(Task._meta.db_table)
        schema_editor.execute(
            f"UPDATE {table} t SET expires_on = GREATEST(t.due_on + e.end_days, t.planned_on) "
            "FROM unnest(%s::bigint[], %s::int[]) AS e(step_id, end_days) "
            "WHERE t.step_id = e.step_id AND t.status IN ('planned', 'retry') "
            "AND t.expires_on IS NULL", [list(ends), list(ends.values())])

class Migration(migrations.Migration):
    dependencies = [("followups", "0014_task_window")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
