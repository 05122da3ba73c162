from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Complaint, ComplaintAttachment, ComplaintEvent, SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["severity", "response_minutes", "resolution_minutes", "department_days",
                    "warning_percent", "repeat_window_days", "working_hours_only"]


class EventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "clock", "round", "at", "actor", "note", "recorded_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(SimpleHistoryAdmin):
    """Read-mostly: the clock fields are kept by the services, not edited here."""

    list_display = ["id", "store", "customer", "severity", "status", "received_at",
                    "response_due_at", "resolution_due_at"]
    list_filter = ["store", "status", "severity", "department", "category"]
    search_fields = ["customer__name", "description"]
    raw_id_fields = ["customer", "vehicle", "repeat_of", "owner", "logged_by",
                     "department_manager"]
    readonly_fields = [f.name for f in Complaint._meta.fields
                       if f.name.endswith("_at") or f.name in ("status", "round", "paused_seconds")]
    inlines = [EventInline]


@admin.register(ComplaintAttachment)
class ComplaintAttachmentAdmin(admin.ModelAdmin):
    list_display = ["complaint", "original_name", "content_type", "size", "uploaded_at"]
    raw_id_fields = ["complaint"]
    readonly_fields = ["content_type", "size", "uploaded_by", "uploaded_at"]
