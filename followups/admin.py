from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Appointment,
    Campaign,
    CareClass,
    ClassInvitation,
    ClubLevel,
    ClubMember,
    ClubSettings,
    FollowupSettings,
    LoungePreference,
    LoungeVisit,
    Outcome,
    Programme,
    RefusalReason,
    SatisfactionQuestion,
    Step,
    Task,
)


class StepInline(admin.StackedInline):
    model = Step
    extra = 0


class QuestionInline(admin.TabularInline):
    model = SatisfactionQuestion
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "anchor", "closes_on_visit", "assign_to_owner", "is_active"]
    inlines = [StepInline, QuestionInline]


@admin.register(Step)
class StepAdmin(SimpleHistoryAdmin):
    list_display = ["programme", "code", "offset_days", "channel", "purpose", "is_active"]
    list_filter = ["programme", "channel"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "store", "programme_code", "due_on", "offset_days", "planned_on",
                    "channel", "status", "assignee", "outcome"]
    list_filter = ["status", "channel", "programme_code", "store"]
    raw_id_fields = ["customer", "vehicle", "assignee", "campaign", "care_class"]
    readonly_fields = ["created_at", "done_at", "closed_at"]


class InvitationInline(admin.TabularInline):
    model = ClassInvitation
    extra = 0
    raw_id_fields = ["customer"]


@admin.register(CareClass)
class CareClassAdmin(SimpleHistoryAdmin):
    list_display = ["title", "kind", "store", "starts_at", "capacity", "is_cancelled"]
    list_filter = ["kind", "store"]
    inlines = [InvitationInline]


@admin.register(Appointment)
class AppointmentAdmin(SimpleHistoryAdmin):
    list_display = ["id", "store", "customer", "booked_for", "purpose", "status", "came_in_on"]
    list_filter = ["status", "store"]
    raw_id_fields = ["customer", "vehicle", "task"]


for model in (FollowupSettings, Outcome, RefusalReason, SatisfactionQuestion, Campaign):
    admin.site.register(model, SimpleHistoryAdmin)


@admin.register(LoungeVisit)
class LoungeVisitAdmin(SimpleHistoryAdmin):
    list_display = ["id", "store", "customer", "purpose", "arrived_at", "departed_at", "served_by"]
    list_filter = ["purpose", "store"]
    raw_id_fields = ["customer", "served_by", "created_by"]


@admin.register(LoungePreference)
class LoungePreferenceAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "drink", "newspaper", "interests", "updated_at"]
    raw_id_fields = ["customer", "updated_by"]


@admin.register(ClubMember)
class ClubMemberAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "store", "level", "source", "joined_on", "left_on"]
    list_filter = ["level", "source", "store"]
    raw_id_fields = ["customer", "created_by"]


for model in (ClubLevel, ClubSettings):
    admin.site.register(model, SimpleHistoryAdmin)
