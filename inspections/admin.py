from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    ChecklistItem,
    ChecklistTemplate,
    DeadlinePolicy,
    Inspection,
    InspectionResult,
    Photo,
    Rectification,
    RoundRule,
)


class ChecklistItemInline(admin.TabularInline):
    """Items are read here only: changes go through the checklist page, which keeps
    past rounds untouched (a new version instead of an edit in place)."""

    model = ChecklistItem
    extra = 0
    fields = ["position", "text", "weight", "severity", "photo_required", "is_active"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RoundRuleInline(admin.TabularInline):
    model = RoundRule
    extra = 0
    can_delete = False


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "area", "store", "version", "responsible", "is_active"]
    list_filter = ["area", "store", "is_active"]
    readonly_fields = ["version"]
    inlines = [ChecklistItemInline, RoundRuleInline]


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(SimpleHistoryAdmin):
    list_display = ["area", "severity", "minutes", "store"]
    list_filter = ["store", "severity"]


class ResultInline(admin.TabularInline):
    model = InspectionResult
    extra = 0
    fields = ["position", "text", "weight", "outcome", "note", "responsible"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Inspection)
class InspectionAdmin(SimpleHistoryAdmin):
    list_display = ["id", "store", "area", "scheduled_for", "status", "inspector", "score"]
    list_filter = ["status", "area", "store"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in Inspection._meta.fields]
    inlines = [ResultInline]


@admin.register(Rectification)
class RectificationAdmin(SimpleHistoryAdmin):
    list_display = ["id", "store", "area", "responsible", "status", "due_at", "overdue_at"]
    list_filter = ["status", "area", "store"]
    readonly_fields = [f.name for f in Rectification._meta.fields]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "store", "kind", "uploaded_by", "uploaded_at", "width", "height", "size"]
    list_filter = ["kind", "store"]
    readonly_fields = [f.name for f in Photo._meta.fields]
