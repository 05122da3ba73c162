from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AnalysisMeeting,
    Countermeasure,
    CustomerBand,
    ImprovementPlan,
    IncentiveRule,
    ItemScore,
    ManufacturerReport,
    MysteryShopCheck,
    MysteryShopItem,
    MysteryShopResult,
    OneToOneTalk,
    SatisfactionPolicy,
    ScoreImport,
    SmileVote,
    StaffGreeting,
    Target,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
    WeakItem,
)


@admin.register(Target)
class TargetAdmin(SimpleHistoryAdmin):
    list_display = ["measure", "store", "period", "value", "threshold", "secure_grade", "strive_grade"]
    list_filter = ["measure", "store"]


@admin.register(SatisfactionPolicy)
class SatisfactionPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["store", "meeting_due_days", "bottom_n"]


@admin.register(ScoreImport)
class ScoreImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "uploaded_by", "uploaded_at", "status", "row_count"]
    list_filter = ["status"]
    readonly_fields = ["file_name", "uploaded_by", "uploaded_at", "status", "row_count", "errors",
                       "stores"]


class ItemScoreInline(admin.TabularInline):
    model = ItemScore
    extra = 0


@admin.register(ManufacturerReport)
class ManufacturerReportAdmin(SimpleHistoryAdmin):
    list_display = ["store", "survey", "period", "total_score", "region_rank", "grade"]
    list_filter = ["survey", "store"]
    inlines = [ItemScoreInline]


@admin.register(WeakItem)
class WeakItemAdmin(admin.ModelAdmin):
    list_display = ["store", "survey", "period", "code", "name", "score", "target", "reason"]
    list_filter = ["survey", "store", "reason"]


@admin.register(AnalysisMeeting)
class AnalysisMeetingAdmin(SimpleHistoryAdmin):
    list_display = ["store", "period", "due_on", "status", "held_at"]
    list_filter = ["status", "store"]


class CountermeasureInline(admin.TabularInline):
    model = Countermeasure
    extra = 0


@admin.register(ImprovementPlan)
class ImprovementPlanAdmin(SimpleHistoryAdmin):
    list_display = ["title", "store", "department", "owner", "status", "step"]
    list_filter = ["status", "step", "store"]
    inlines = [CountermeasureInline]


@admin.register(MysteryShopItem)
class MysteryShopItemAdmin(SimpleHistoryAdmin):
    list_display = ["department", "code", "name", "max_points", "store", "is_active"]
    list_filter = ["department", "is_active"]


class MysteryShopResultInline(admin.TabularInline):
    model = MysteryShopResult
    extra = 0


@admin.register(MysteryShopCheck)
class MysteryShopCheckAdmin(SimpleHistoryAdmin):
    list_display = ["checked_on", "store", "kind", "department", "staff", "checker", "score"]
    list_filter = ["kind", "department", "store"]
    inlines = [MysteryShopResultInline]


# The team ---------------------------------------------------------------------------------------



@admin.register(TrainingPlan)
class TrainingPlanAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "store", "frequency", "is_active"]
    list_filter = ["frequency", "store"]


class TrainingAttendanceInline(admin.TabularInline):
    model = TrainingAttendance
    extra = 0
    raw_id_fields = ["staff"]


@admin.register(TrainingSession)
class TrainingSessionAdmin(SimpleHistoryAdmin):
    list_display = ["held_on", "store", "plan", "topic", "trainer", "minutes"]
    list_filter = ["store", "plan"]
    inlines = [TrainingAttendanceInline]
    raw_id_fields = ["trainer"]


@admin.register(IncentiveRule)
class IncentiveRuleAdmin(SimpleHistoryAdmin):
    list_display = ["kind", "store", "threshold", "amount", "is_active"]
    list_filter = ["kind", "store"]


@admin.register(SmileVote)
class SmileVoteAdmin(SimpleHistoryAdmin):
    list_display = ["period", "store", "voter", "nominee"]
    list_filter = ["store", "period"]
    raw_id_fields = ["voter", "nominee"]


@admin.register(OneToOneTalk)
class OneToOneTalkAdmin(SimpleHistoryAdmin):
    list_display = ["held_on", "store", "staff", "held_by", "minutes"]
    list_filter = ["store"]
    raw_id_fields = ["staff", "held_by"]


@admin.register(StaffGreeting)
class StaffGreetingAdmin(SimpleHistoryAdmin):
    list_display = ["name", "occasion", "month", "day", "festival", "store", "template_code", "is_active"]
    list_filter = ["occasion", "store"]


@admin.register(CustomerBand)
class CustomerBandAdmin(SimpleHistoryAdmin):
    list_display = ["kind", "label", "lower", "upper", "order", "is_active"]
    list_filter = ["kind", "is_active"]
    list_editable = ["label", "lower", "upper", "order", "is_active"]
