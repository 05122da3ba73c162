from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("投诉")
    nav_items = [
        (_("投诉看板"), "complaints:board", "complaints.view_complaint"),
        (_("登记投诉"), "complaints:create", "complaints.add_complaint"),
        (_("投诉报表"), "complaints:report", "complaints.view_complaint_report"),
    ]
    settings_items = [
        (_("投诉时限规则"), "complaints:sla-settings", "complaints.change_slapolicy"),
    ]
    # Uploaded files under these folders of MEDIA_ROOT, and who may see each one.
    media_owners = {"complaints/": "complaints.selectors.attachment_visible"}

    def ready(self):
        from importlib.util import find_spec

        from customers import hooks as customer_hooks

        from . import hooks

        customer_hooks.customer_erased.register(hooks.customer_erased)

        if find_spec("customers.timeline"):
            from customers import timeline

            from .selectors import customer_timeline

            timeline.register(customer_timeline)
            timeline.register_action(timeline.CustomerAction(
                label=_("登记投诉"), url_name="complaints:create",
                permission="complaints.add_complaint", style="outline-danger"))
