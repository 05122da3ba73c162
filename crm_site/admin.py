from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    CalendarOverride,
    CalendarYear,
    DealerGroup,
    Message,
    NoticeChannels,
    Notification,
    OpeningHours,
    PasswordResetCode,
    RobotPost,
    RobotWebhook,
    SmsReply,
    SmsTemplate,
    Store,
    User,
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Store)
class StoreAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "group", "brand", "is_active", "calendar_usable"]
    inlines = [OpeningHoursInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            has_hours=Exists(OpeningHours.objects.filter(store=OuterRef("pk"))))

    @admin.display(boolean=True, description=gettext_lazy("营业日历可用"))
    def calendar_usable(self, store):
        return store.has_hours

    def changelist_view(self, request, extra_context=None):
        """A store without opening hours is not planned at night: say so on the list."""
        broken = list(self.get_queryset(request).filter(is_active=True, has_hours=False)
                      .values_list("name", flat=True))
        if broken:
            messages.warning(request, _("以下门店没有营业时间，夜间提醒不会为其生成：%(stores)s")
                             % {"stores": "、".join(broken)})
        return super().changelist_view(request, extra_context)


@admin.register(User)
class StaffAdmin(UserAdmin, SimpleHistoryAdmin):
    fieldsets = [*UserAdmin.fieldsets, (None, {"fields": ["stores", "mobile", "birthday"]})]
    filter_horizontal = ["groups", "user_permissions", "stores"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "store", "recipient", "template_code", "status", "not_before",
                    "attempts", "sent_at", "delivery"]
    list_filter = ["status", "delivery", "store"]
    readonly_fields = [f.name for f in Message._meta.fields]


admin.site.register(DealerGroup, SimpleHistoryAdmin)
admin.site.register(CalendarOverride, SimpleHistoryAdmin)
admin.site.register(CalendarYear, SimpleHistoryAdmin)
admin.site.register(Notification)


@admin.register(SmsTemplate)
class SmsTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "sign_name", "aliyun_template_code", "tencent_template_id"]


@admin.register(SmsReply)
class SmsReplyAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "store", "mobile", "text", "opt_out",
                    "customers_changed"]
    list_filter = ["opt_out", "provider"]
    readonly_fields = [f.name for f in SmsReply._meta.fields]


@admin.register(RobotWebhook)
class RobotWebhookAdmin(SimpleHistoryAdmin):
    list_display = ["store", "role", "kind", "is_active"]
    list_filter = ["kind", "store"]


@admin.register(RobotPost)
class RobotPostAdmin(admin.ModelAdmin):
    list_display = ["id", "webhook", "title", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in RobotPost._meta.fields]


admin.site.register(NoticeChannels, SimpleHistoryAdmin)


@admin.register(PasswordResetCode)
class PasswordResetCodeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "channel", "requested_from", "attempts", "used_at",
                    "expires_at"]
    exclude = ["code_hash"]
    readonly_fields = [f.name for f in PasswordResetCode._meta.fields if f.name != "code_hash"]
