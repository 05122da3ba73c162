from django.urls import include, path

from . import views
from .team import urls as team_urls

app_name = "satisfaction"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("group/", views.group, name="group"),
    path("export/monthly/", views.export_monthly, name="export-monthly"),
    path("reports/daily/", views.report_daily, name="report-daily"),
    path("reports/weekly/", views.report_weekly, name="report-weekly"),
    path("answers/", views.answers, name="answers"),
    path("followup-calls/", views.followup_calls, name="followup-calls"),
    path("renewals/", views.renewals, name="renewals"),
    path("recalls/", views.recalls, name="recalls"),
    path("imports/", views.import_list, name="import-list"),
    path("imports/template/", views.import_template, name="import-template"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("reports/", views.report_list, name="report-list"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("weak-items/", views.weak_item_list, name="weak-item-list"),
    path("plans/", views.plan_list, name="plan-list"),
    path("plans/new/", views.plan_create, name="plan-create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/advance/", views.plan_advance, name="plan-advance"),
    path("plans/<int:pk>/approve/", views.plan_approve, name="plan-approve"),
    path("plans/<int:pk>/close/", views.plan_close, name="plan-close"),
    path("plans/<int:pk>/countermeasures/", views.countermeasure_add, name="countermeasure-add"),
    path("plans/<int:pk>/countermeasures/<int:cm>/done/", views.countermeasure_done,
         name="countermeasure-done"),
    path("meetings/", views.meeting_list, name="meeting-list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("checks/", views.check_list, name="check-list"),
    path("checks/new/", views.check_create, name="check-create"),
    path("checks/<int:pk>/", views.check_detail, name="check-detail"),
    path("targets/", views.target_list, name="target-list"),
    path("team/", include(team_urls)),
    path("customers/", views.customer_analysis, name="customer-analysis"),
    path("customers/refresh/", views.customer_analysis_refresh, name="customer-analysis-refresh"),
    path("customers/list/", views.customer_analysis_list, name="customer-analysis-list"),
    path("customers/export/", views.customer_analysis_export, name="customer-analysis-export"),
    path("settings/bands/", views.band_settings, name="band-settings"),
]
