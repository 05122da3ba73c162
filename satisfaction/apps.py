from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = _("满意度")
    nav_items = [
        (_("经理看板"), "satisfaction:dashboard", "satisfaction.view_dashboard"),
        (_("集团对比"), "satisfaction:group", "satisfaction.view_group"),
        (_("客户分析"), "satisfaction:customer-analysis", "satisfaction.view_customer_analysis"),
        (_("改善计划"), "satisfaction:plan-list", "satisfaction.view_improvementplan"),
        (_("神秘访客"), "satisfaction:check-list", "satisfaction.view_mysteryshopcheck"),
        (_("厂家报告"), "satisfaction:report-list", "satisfaction.view_manufacturerreport"),
        (_("团队"), "satisfaction:team", "satisfaction.view_team"),
    ]
    settings_items = [
        (_("目标"), "satisfaction:target-list", "satisfaction.change_target"),
        (_("奖惩规则"), "satisfaction:team-incentives", "satisfaction.change_incentiverule"),
        (_("员工关怀短信"), "satisfaction:greeting-settings", "satisfaction.change_staffgreeting"),
        (_("客户分析分段"), "satisfaction:band-settings", "satisfaction.change_customerband"),
    ]

    def ready(self):
        from followups import hooks as followup_hooks

        from . import hooks

        followup_hooks.answers_recorded.register(hooks.answers_recorded)
        from crm_site.selectors import MESSAGE_PURPOSE_LABELLERS

        from .team.selectors import message_purpose_labels

        MESSAGE_PURPOSE_LABELLERS.append(message_purpose_labels)
