"""/api/v1/: every app registers its viewsets on the one router here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("stores", api.StoreViewSet, basename="store")
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("messages", api.MessageViewSet, basename="message")

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("", include(router.urls)),
]
