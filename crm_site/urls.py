"""The one file that knows every app's URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import media, views
from .throttling import LOGIN, PASSWORD_RESET, throttle

handler400 = "crm_site.api.bad_request"
handler404 = "crm_site.api.not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("accounts/login/",
         throttle(LOGIN)(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
         name="login"),
    path("accounts/password/reset/",
         throttle(PASSWORD_RESET)(views.password_reset), name="password-reset"),
    path("accounts/password/reset/confirm/",
         throttle(PASSWORD_RESET)(views.password_reset_confirm), name="password-reset-confirm"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/read/", views.notification_read, name="notification-read"),
    path("notifications/bell/", views.notification_bell, name="notification-bell"),
    path("notifications/channels/", views.notice_channels, name="notice-channels"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/new/", views.staff_edit, name="staff-create"),
    path("staff/<int:pk>/", views.staff_edit, name="staff-edit"),
    path("messages/", views.message_list, name="message-list"),
    path("settings/calendar-years/", views.calendar_year_list, name="calendar-year-list"),
    path("settings/calendar-years/<int:year>/", views.calendar_year_edit, name="calendar-year-edit"),
    path("settings/schedules/", views.schedule_settings, name="schedule-settings"),
    path("imports/", views.import_upload, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status/", views.import_status, name="import-status"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import-confirm"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import-errors"),
    path("imports/template/<slug:kind>.xlsx", views.import_template, name="import-template"),
    path("sms/callback/<str:provider>/<str:kind>/<str:token>/", views.sms_callback,
         name="sms-callback"),
    path("customers/", include("customers.urls")),
    path("followups/", include("followups.urls")),
    path("complaints/", include("complaints.urls")),
    path("inspections/", include("inspections.urls")),
    path("satisfaction/", include("satisfaction.urls")),
    path("api/v1/", include(("crm_site.api_urls", "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Uploaded files (inspection photos, attachments): only for staff who may see the
    # record that owns the file (crm_site.media).
    path("media/<path:path>", media.media, name="media"),
]
