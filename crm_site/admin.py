from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import CalendarOverride, DealerGroup, Message, Notification, OpeningHours, Store, User


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Store)
class StoreAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "group", "brand", "is_active"]
    inlines = [OpeningHoursInline]


@admin.register(User)
class StaffAdmin(UserAdmin, SimpleHistoryAdmin):
    fieldsets = [*UserAdmin.fieldsets, (None, {"fields": ["stores", "mobile", "birthday"]})]
    filter_horizontal = ["groups", "user_permissions", "stores"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "store", "recipient", "template_code", "status", "not_before",
                    "attempts", "sent_at"]
    list_filter = ["status", "store"]
    readonly_fields = [f.name for f in Message._meta.fields]


admin.site.register(DealerGroup, SimpleHistoryAdmin)
admin.site.register(CalendarOverride, SimpleHistoryAdmin)
admin.site.register(Notification)
