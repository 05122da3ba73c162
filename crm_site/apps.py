from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmSiteConfig(AppConfig):
    name = "crm_site"
    verbose_name = _("系统")
    # Navigation entries: (label, url name, permission needed or None). Each app
    # declares its own; the base layout shows those the user may open.
    nav_items = [
        (_("员工"), "staff-list", "crm_site.manage_staff"),
        (_("短信发件箱"), "message-list", "crm_site.view_message"),
        (_("法定节假日"), "calendar-year-list", "crm_site.manage_calendar_year"),
    ]
    # Settings pages, gathered under one "设置" menu by the base layout.
    settings_items = [
        (_("定时任务"), "schedule-settings", "django_celery_beat.change_periodictask"),
    ]
