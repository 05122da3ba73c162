from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("回访与提醒")
    nav_items = [
        (_("今日回访"), "followups:worklist", "followups.record_outcome"),
        (_("回访计划"), "followups:plan", "followups.reassign_task"),
        (_("提醒漏斗"), "followups:funnel", "followups.view_task"),
        (_("召回与课堂"), "followups:campaigns", "followups.view_campaign"),
        (_("预约"), "followups:appointments", "followups.view_appointment"),
        (_("吧台"), "followups:lounge", "followups.view_loungevisit"),
        (_("车友会"), "followups:club", "followups.view_clubmember"),
    ]
    settings_items = [
        (_("提醒方案"), "followups:programmes", "followups.change_programme"),
    ]

    def ready(self):
        from customers import hooks as customer_hooks

        from . import hooks

        customer_hooks.visit_recorded.register(hooks.visit_recorded)
        customer_hooks.visits_imported.register(hooks.visits_imported)
        customer_hooks.customer_erased.register(hooks.customer_erased)
        customer_hooks.consent_changed.register(hooks.consent_changed)
        customer_hooks.ownership_ended.register(hooks.ownership_ended)
        customer_hooks.customer_merged.register(hooks.customer_merged)
        customer_hooks.policy_recorded.register(hooks.policy_recorded)
        from crm_site.selectors import MESSAGE_PURPOSE_LABELLERS

        from .selectors import message_purpose_labels

        MESSAGE_PURPOSE_LABELLERS.append(message_purpose_labels)
        from customers import timeline

        from .timeline import followup_entries, lounge_club_entries

        timeline.register(followup_entries)
        timeline.register(lounge_club_entries)
        timeline.register_action(timeline.CustomerAction(
            label=_("吧台来访登记"), url_name="followups:lounge",
            permission="followups.add_loungevisit"))
        timeline.register_action(timeline.CustomerAction(
            label=_("加入车友会"), url_name="followups:club-join",
            permission="followups.add_clubmember"))
