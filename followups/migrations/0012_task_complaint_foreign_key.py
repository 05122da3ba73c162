"""A call's complaint is a real foreign key (it was a plain integer): the column keeps its
name and values; a value naming no complaint is cleared before the constraint."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0011_planner_runs"),
        ("complaints", "0005_lounge_logs_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="task", name="complaint_id"),
                migrations.AddField(
                    model_name="task", name="complaint",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="followup_tasks", to="complaints.complaint",
                        verbose_name="投诉单"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "UPDATE followups_task t SET complaint_id = NULL WHERE complaint_id IS NOT NULL"
                    " AND NOT EXISTS (SELECT 1 FROM complaints_complaint c WHERE c.id = t.complaint_id)",
                    migrations.RunSQL.noop),
                migrations.RunSQL(
                    "ALTER TABLE followups_task ADD CONSTRAINT followups_task_complaint_id_fk"
                    " FOREIGN KEY (complaint_id) REFERENCES complaints_complaint (id)"
                    " DEFERRABLE INITIALLY DEFERRED",
                    "ALTER TABLE followups_task DROP CONSTRAINT followups_task_complaint_id_fk"),
            ],
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(condition=Q(complaint__isnull=False), fields=["complaint"],
                               name="task_complaint_idx"),
        ),
    ]
