from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("日常检查")
    nav_items = [
        (_("今日检查"), "inspections:today", "inspections.view_inspection"),
        (_("我的整改"), "inspections:my-rectifications", "inspections.fix_rectification"),
        (_("整改复查"), "inspections:rectifications", "inspections.verify_rectification"),
        (_("检查统计"), "inspections:dashboard", "inspections.view_inspection_reports"),
    ]
    settings_items = [
        (_("检查表"), "inspections:checklists", "inspections.change_checklisttemplate"),
        (_("检查时间"), "inspections:check-times", "inspections.change_roundrule"),
        (_("整改时限"), "inspections:fix-minutes", "inspections.change_deadlinepolicy"),
    ]
    # Uploaded files under these folders of MEDIA_ROOT, and who may see each one.
    media_owners = {"inspections/": "inspections.selectors.photo_visible"}
