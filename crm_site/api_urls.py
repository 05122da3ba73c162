"""/api/v1/: every app registers its viewsets on the one router here. Like urls.py, this
file knows every app."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

import complaints.api
import customers.api
import followups.api
import inspections.api
import satisfaction.api

from . import api


class Router(DefaultRouter):
    """The API speaks JSON only: no ".json" suffix routes, whose extra `format` argument
    the actions do not take."""

    include_format_suffixes = False


router = Router()
router.register("stores", api.StoreViewSet, basename="store")
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("messages", api.MessageViewSet, basename="message")
router.register("calendar-years", api.CalendarYearViewSet, basename="calendar-year")
for app_api in (customers.api, followups.api, complaints.api, inspections.api, satisfaction.api):
    app_api.register(router)

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("", include(router.urls)),
]
