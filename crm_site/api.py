"""API of the site-wide floor: stores, the current user, notifications, the outbox, and
how every app's service errors become API answers."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import services, validation
from .models import Message, Notification, Store, User
from .permissions import ActionPermissions
from .scoping import for_user
from .templatetags.crm import mask_mobile


def exception_handler(exc, context):
    """A service's ValidationError is a 400 naming its fields ({"mobile": [...]}); one that
    names no field answers under non_field_errors, like a serializer's. Everything else
    (PermissionDenied with its message, Http404, DRF's own errors) as DRF answers it."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field:
                      messages for field, messages in exc.message_dict.items()}
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


class StoreSerializer(validation.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "code", "name", "brand", "address", "phone", "time_zone",
                  "sms_window_start", "sms_window_end"]


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "crm_site.view_store"}
    filterset_fields = ["code"]

    def get_queryset(self):
        return for_user(Store.objects.all(), self.request.user, "pk").order_by("code")


class MeSerializer(validation.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name")
    roles = serializers.SerializerMethodField()
    stores = StoreSerializer(many=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "roles", "stores"]

    def get_roles(self, user) -> list[str]:
        return sorted(user.role_codes)


class MeView(APIView):
    """Who the caller of the API is: roles and stores."""

    @extend_schema(responses=MeSerializer)
    def get(self, request, *args, **kwargs):
        user = User.objects.prefetch_related("groups", "stores").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class NotificationSerializer(validation.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """The caller's own notifications; `read` marks one read."""

    serializer_class = NotificationSerializer
    filterset_fields = {"read_at": ["isnull"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(user=self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        notification = self.get_object()
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.read_at = notification.read_at or timezone.now()
        return Response(self.get_serializer(notification).data)


class MessageSerializer(validation.ModelSerializer):
    """`recipient` masked exactly as on the outbox page (/messages/): in full only for a
    role that may reveal personal data."""

    class Meta:
        model = Message
        fields = ["id", "store", "recipient", "sign_name", "template_code", "params", "text",
                  "purpose", "status", "not_before", "expires_at", "attempts",
                  "last_error", "provider", "provider_id", "created_at", "sent_at",
                  "delivery", "delivered_at", "delivery_error"]
        read_only_fields = fields

    def to_representation(self, message):
        data = super().to_representation(message)
        request = self.context.get("request")
        if not (request and request.user.has_perm("crm_site.reveal_personal_data")):
            data["recipient"] = mask_mobile(message.recipient)
        return data


class MessageViewSet(viewsets.ReadOnlyModelViewSet):
    """The SMS outbox, read-only."""

    serializer_class = MessageSerializer
    filterset_fields = ["status", "delivery", "store", "template_code", "purpose"]
    permission_classes = [permissions.IsAuthenticated, ActionPermissions]
    action_permissions = {"*": "crm_site.view_message"}

    def get_queryset(self):
        return for_user(Message.objects.all(), self.request.user).order_by("-id")


def bad_request(request, exception=None):
    """A 400 Django raises before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE)
    answers in the API's own format under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.ParseError.default_detail)}, status=400)
    return django_bad_request(request, exception)


def not_found(request, exception=None):
    """A 404 under /api/ (a path no route matches, e.g. an id with a dot) answers in the
    API's own format; pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
    return page_not_found(request, exception)
