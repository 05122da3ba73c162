from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("客户档案")
    nav_items = [
        (_("客户"), "customers:list", "customers.view_customer"),
        (_("修正申请"), "customers:correction-list", "customers.view_correctionrequest"),
        (_("重复客户"), "customers:duplicates", "customers.merge_customer"),
        (_("导入"), "imports", "customers.import_customers"),
    ]

    def ready(self):
        from crm_site import hooks as site_hooks

        from . import services, timeline
        from .selectors import records_timeline

        timeline.register(records_timeline)
        site_hooks.sms_opt_out.register(services.sms_opt_out_apply)

        from crm_site.imports import register

        from .importers import IMPORTERS

        for importer in IMPORTERS:
            register(importer)
